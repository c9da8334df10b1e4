/**
 * The Kubernetes password switch under Pulumi mocks: what the Job runs with, and that the cluster
 * Secret and the StatefulSets are registered only once the Job is done (the mocked Job takes a
 * while, as a real one does).
 */
import * as pulumi from "@pulumi/pulumi";
import { isWireSecret, settle } from "../../../testing/pulumiMocks";
import { k8sStackConfig } from "../../../testing/unitKubernetesConfig";

type Any = any;
interface Event {
    what: "register" | "done";
    type: string;
    name: string;
    inputs: Record<string, Any>;
}
const events: Event[] = [];
pulumi.runtime.setMocks(
    {
        newResource: async (args) => {
            events.push({ what: "register", type: args.type, name: args.name, inputs: args.inputs });
            if (args.type === "kubernetes:batch/v1:Job") await new Promise((r) => setTimeout(r, 300));
            events.push({ what: "done", type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}_id`, state: { ...args.inputs, ...(args.type === "random:index/randomId:RandomId" ? { hex: "0a1b2c3d" } : {}) } };
        },
        call: (args) => args.inputs,
    },
    "tile38-ha",
    "k8s",
    false,
);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kube = require("../../../components/kubernetes") as typeof import("../../../components/kubernetes");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { clusterArgsFromConfig } = require("../../../components/clusterArgs") as typeof import("../../../components/clusterArgs");

const TILE38_PASSWORD = "t38-Rotated-Password-1234";
const SENTINEL_PASSWORD = "sentinel-Rotated-Password-5678";

const at = (what: Event["what"], type: string, name?: string) => {
    const i = events.findIndex((e) => e.what === what && e.type === type && e.name.startsWith("rot") && (name === undefined || e.inputs.metadata?.name === name));
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
};
const the = (type: string, name?: string) => events[at("register", type, name)].inputs;
const JOB = "kubernetes:batch/v1:Job";
const SECRET = "kubernetes:core/v1:Secret";
const STS = "kubernetes:apps/v1:StatefulSet";

let sw: InstanceType<typeof kube.KubernetesPasswordSwitch>;
beforeAll(async () => {
    const cfg = k8sStackConfig();
    sw = new kube.KubernetesPasswordSwitch("alone", { config: cfg, topology: kube.planKubernetesCluster(cfg).topology, tile38Password: "a", sentinelPassword: "b" });
    new kube.KubernetesTile38Cluster("rot", { ...clusterArgsFromConfig(cfg), tile38Password: TILE38_PASSWORD, sentinelPassword: pulumi.secret(SENTINEL_PASSWORD) });
    await settle(events);
}, 30_000);

describe("KubernetesPasswordSwitch in a cluster", () => {
    it("holds the new passwords in an immutable Secret named after their generation (a random id the passwords keep, as secrets)", () => {
        const secret = the(SECRET, "tile38-ha-auth-0a1b2c3d");
        expect(secret.immutable).toBe(true);
        expect(isWireSecret(secret.stringData)).toBe(true);
        expect(secret.stringData.value).toEqual({ "tile38-password": TILE38_PASSWORD, "sentinel-password": SENTINEL_PASSWORD });
        const generation = the("random:index/randomId:RandomId");
        expect(generation.byteLength).toBe(4);
        expect(isWireSecret(generation.keepers)).toBe(true);
    });

    it("runs the switch once, new passwords from that Secret, old ones from the cluster Secret as deployed (optional), no password in its spec", () => {
        const job = the(JOB, "tile38-ha-password-switch");
        expect(job.spec.backoffLimit).toBe(0);
        expect(job.metadata.annotations["pulumi.com/replaceUnready"]).toBe("true");
        const pod = job.spec.template.spec;
        expect(pod.restartPolicy).toBe("Never");
        expect(job.spec.template.metadata.labels["tile38-ha/client"]).toBe("true");
        const env = Object.fromEntries((pod.containers[0].env as Any[]).map((e) => [e.name, e.valueFrom.secretKeyRef]));
        expect(env.TILE38_PASSWORD).toEqual({ name: "tile38-ha-auth-0a1b2c3d", key: "tile38-password" });
        expect(env.SENTINEL_PASSWORD).toEqual({ name: "tile38-ha-auth-0a1b2c3d", key: "sentinel-password" });
        const old = pod.volumes.find((v: Any) => v.name === "old-passwords").secret;
        expect(old).toMatchObject({ secretName: "tile38-ha-auth", optional: true });
        const script = the("kubernetes:core/v1:ConfigMap", "tile38-ha-password-switch").data["password-switch.sh"];
        expect(script).toContain("OLD_PASSWORDS_DIR='/old-passwords'");
        expect(script).toContain("tile38-0.tile38-headless.tile38.svc.cluster.local:9851");
        for (const text of [JSON.stringify(job), script]) {
            expect(text).not.toContain(TILE38_PASSWORD);
            expect(text).not.toContain(SENTINEL_PASSWORD);
        }
    });

    it("changes the cluster Secret and the StatefulSets only once the Job is done; the Tile38 pods roll with the new passwords' Secret", () => {
        const jobDone = at("done", JOB);
        expect(at("register", SECRET, "tile38-ha-auth")).toBeGreaterThan(jobDone);
        expect(at("register", STS, "tile38")).toBeGreaterThan(jobDone);
        expect(at("register", STS, "sentinel")).toBeGreaterThan(jobDone);
        expect(the(STS, "tile38").spec.template.metadata.annotations["tile38-ha/passwords"]).toBe("0a1b2c3d");
    });

    it("hands out a generation that depends on no Job output (the Job is replaced delete first: a StatefulSet input that depended on it would be replaced too, every pod at once)", async () => {
        const resources = await (sw.generation as Any).allResources();
        expect(resources.has(sw.job)).toBe(false);
        expect(resources.has(sw.generationId)).toBe(true);
    });
});
