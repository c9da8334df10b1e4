/**
 * The Kubernetes objects a stack REALLY renders, for the pod simulator: the program (`index.ts`) is
 * run under the same Pulumi mocks and stack-file reader as `npm run synth -- <stack>`
 * (testing/pulumiMocks.ts, testing/stackFile.ts), in a child process of its own (Pulumi's runtime
 * state is process-global), and the ConfigMap, the Secret and both StatefulSets are taken from what
 * the program registered. The only difference from `synth`: secret values are unwrapped, because
 * the simulated pods need them as their `secretKeyRef` env. Under mocks they are placeholders
 * (`generated-password-of-…`, `synth-placeholder-for-…`), never real secrets.
 *
 * Run on its own: `node -r ts-node/register/transpile-only tests/integration/harness/k8sObjects.ts k8s`
 * prints the recorded resources (secrets revealed) as JSON.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const REPO = path.join(__dirname, "..", "..", "..");

/** An env var of a container, as the program declared it. */
export interface EnvVarSpec {
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}

/** The parts of a container the simulator runs. */
export interface ContainerSpec {
    name: string;
    command: string[];
    env: EnvVarSpec[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    preStop?: string[];
}

/** One StatefulSet as the simulator needs it. */
export interface StatefulSetSpec {
    /** `metadata.name`: pods are `<name>-<i>`. */
    name: string;
    /** `spec.serviceName`: the headless Service that names the pods. */
    serviceName: string;
    replicas: number;
    terminationGracePeriodSeconds: number;
    /** The main container (the first one). Sidecars are listed in {@link sidecars}. */
    main: ContainerSpec;
    sidecars: string[];
    /** `configMap` volumes: volume name -> ConfigMap keys it projects (key -> path). */
    configMapVolumes: Record<string, Record<string, string>>;
}

/** Everything the simulator takes from the rendered stack. */
export interface K8sObjects {
    stack: string;
    namespace: string;
    clusterDomain: string;
    configMapName: string;
    configMap: Record<string, string>;
    secretName: string;
    secret: Record<string, string>;
    tile38: StatefulSetSpec;
    sentinel: StatefulSetSpec;
}

/** A resource as recorded under mocks (secrets unwrapped). */
interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function container(c: Obj): ContainerSpec {
    const preStop = obj(obj(obj(c.lifecycle).preStop).exec).command;
    return {
        name: String(c.name),
        command: arr(c.command).map(String),
        env: arr(c.env).map((e) => obj(e) as unknown as EnvVarSpec),
        volumeMounts: arr(c.volumeMounts).map((m) => obj(m) as unknown as ContainerSpec["volumeMounts"][number]),
        preStop: preStop === undefined ? undefined : arr(preStop).map(String),
    };
}

function statefulSet(r: Recorded): StatefulSetSpec {
    const spec = obj(r.inputs.spec);
    const pod = obj(obj(spec.template).spec);
    const containers = arr(pod.containers).map(obj);
    const cmVolumes: Record<string, Record<string, string>> = {};
    for (const v of arr(pod.volumes).map(obj)) {
        const cm = obj(v.configMap);
        if (!cm.name) continue;
        cmVolumes[String(v.name)] = Object.fromEntries(arr(cm.items).map((i) => [String(obj(i).key), String(obj(i).path)]));
    }
    return {
        name: String(obj(r.inputs.metadata).name),
        serviceName: String(spec.serviceName),
        replicas: Number(spec.replicas),
        terminationGracePeriodSeconds: Number(pod.terminationGracePeriodSeconds ?? 30),
        main: container(containers[0]),
        sidecars: containers.slice(1).map((c) => String(c.name)),
        configMapVolumes: cmVolumes,
    };
}

/** Picks the simulator's objects out of the recorded resources. */
export function extractK8sObjects(stack: string, recorded: Recorded[]): K8sObjects {
    const one = (type: string, pick: (r: Recorded) => boolean = () => true): Recorded => {
        const found = recorded.filter((r) => r.type === type && pick(r));
        if (found.length !== 1) throw new Error(`stack ${stack}: expected one ${type}, found ${found.length}`);
        return found[0];
    };
    const sets = recorded.filter((r) => r.type === "kubernetes:apps/v1:StatefulSet").map(statefulSet);
    const byMain = (name: string) => {
        const s = sets.find((x) => x.main.name === name);
        if (!s) throw new Error(`stack ${stack}: no StatefulSet whose main container is ${name}`);
        return s;
    };
    const tile38 = byMain("tile38");
    const nodeHost = tile38.main.env.find((e) => e.name === "NODE_HOST")?.value ?? "";
    // `$(POD_NAME).<headless>.<namespace>.svc.<cluster domain>`
    const m = /^\$\(POD_NAME\)\.([^.]+)\.([^.]+)\.svc\.(.+)$/.exec(nodeHost);
    if (!m) throw new Error(`stack ${stack}: NODE_HOST is ${JSON.stringify(nodeHost)}, not a pod FQDN expression`);
    const cm = one("kubernetes:core/v1:ConfigMap");
    const secret = one("kubernetes:core/v1:Secret");
    return {
        stack,
        namespace: m[2],
        clusterDomain: m[3],
        configMapName: String(obj(cm.inputs.metadata).name),
        configMap: Object.fromEntries(Object.entries(obj(cm.inputs.data)).map(([k, v]) => [k, String(v)])),
        secretName: String(obj(secret.inputs.metadata).name),
        secret: Object.fromEntries(Object.entries(obj(secret.inputs.stringData)).map(([k, v]) => [k, String(v)])),
        tile38,
        sentinel: byMain("sentinel"),
    };
}

/**
 * Runs the program for `stack` (Pulumi.<stack>.yaml) under mocks in a child process and returns
 * its Kubernetes objects. Bounded (120 s: ts-node compiles the program).
 */
export function loadK8sObjects(stack = "k8s"): K8sObjects {
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, stack], {
        cwd: REPO,
        encoding: "utf8",
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
    return extractK8sObjects(stack, JSON.parse(out) as Recorded[]);
}

/** Child-process entry: the synth path, secrets revealed. */
async function main(stack: string): Promise<void> {
    // Loaded here, not at the top: the test process only parses the JSON.
    /* eslint-disable @typescript-eslint/no-var-requires */
    const mocks = require(path.join(REPO, "testing", "pulumiMocks")) as typeof import("../../../testing/pulumiMocks");
    const stackFile = require(path.join(REPO, "testing", "stackFile")) as typeof import("../../../testing/stackFile");
    const file = path.join(REPO, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
    const { values, secretKeys } = stackFile.readStackFile(file);
    const recorded = mocks.installMocks(stack, values, secretKeys);
    let failure: unknown;
    process.on("unhandledRejection", (e) => (failure = failure ?? e));
    require(path.join(REPO, "index"));
    await mocks.settle(recorded);
    if (failure) throw failure;
    const reveal = (v: unknown): unknown => {
        if (mocks.isWireSecret(v)) return reveal(v.value);
        if (Array.isArray(v)) return v.map(reveal);
        if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v as Obj).map(([k, x]) => [k, reveal(x)]));
        return v;
    };
    const text = JSON.stringify(recorded.map((r) => ({ type: r.type, name: r.name, inputs: reveal(r.inputs) })));
    await new Promise<void>((resolve) => process.stdout.write(text + "\n", () => resolve()));
}

if (require.main === module) {
    main(process.argv[2] ?? "k8s").then(
        () => process.exit(0),
        (e: unknown) => {
            process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
            process.exit(1);
        },
    );
}
