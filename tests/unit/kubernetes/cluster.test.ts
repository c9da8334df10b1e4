/**
 * KubernetesTile38Cluster under Pulumi mocks: every object it declares, with the inputs the
 * provider would receive. Secrets arrive as Pulumi's wire secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { TILE38_HA_RULE_GROUPS } from "../../../components/monitoring/alertRules";
import { isWireSecret, maskSecrets } from "../../../testing/pulumiMocks";
import { findIpLiterals, k8sStackConfig, withConfig } from "../../../testing/unitKubernetesConfig";

type Any = any;
interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, Any>;
    provider?: string;
    custom?: boolean;
}

const recorded: Recorded[] = [];
pulumi.runtime.setMocks(
    {
        newResource: (args) => {
            recorded.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, custom: args.custom });
            // What AWS would fill in: the bucket's name and ARNs.
            const extra: Record<string, string> =
                args.type === "aws:s3/bucket:Bucket"
                    ? { bucket: `${args.name}-fake`, arn: `arn:aws:s3:::${args.name}-fake` }
                    : args.type.startsWith("aws:iam/")
                      ? { arn: `arn:aws:iam::123456789012:${args.type.includes("role") ? "role" : "policy"}/${args.name}`, name: args.name }
                      : args.type === "random:index/randomId:RandomId"
                        ? { hex: "0a1b2c3d" }
                        : {};
            return { id: `${args.name}_id`, state: { ...args.inputs, ...extra } };
        },
        call: (args) => args.inputs,
    },
    "tile38-ha",
    "k8s",
    false,
);

// Required after setMocks, as a program would be loaded.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kube = require("../../../components/kubernetes") as typeof import("../../../components/kubernetes");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { clusterArgsFromConfig } = require("../../../components/clusterArgs") as typeof import("../../../components/clusterArgs");
type StackConfig = import("../../../config/types").StackConfig;
/** The typed arguments of a whole stack config plus passwords (what index.ts passes). */
const argsOf = (config: StackConfig, secrets: Record<string, pulumi.Input<string>>) => ({ ...clusterArgsFromConfig(config), ...secrets });

const TILE38_PASSWORD = "t38-Secret-Password-4711";
const SENTINEL_PASSWORD = "sentinel-Secret-Password-0815";

function output<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}
async function settle(quietMs = 200, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline && recorded.length !== last) {
        last = recorded.length;
        await new Promise((r) => setTimeout(r, quietMs));
    }
}

const cfg = k8sStackConfig();
let cluster: InstanceType<typeof kube.KubernetesTile38Cluster>;
let main: Recorded[];
let bare: Recorded[];
let irsa: Recorded[];
let s3compat: Recorded[];
let monitored: Recorded[];
const OIDC_URL = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789";
const OIDC_ARN = `arn:aws:iam::123456789012:oidc-provider/${OIDC_URL}`;

beforeAll(async () => {
    const provider = kube.createKubernetesProvider(withConfig((c) => (c.kubernetes.context = "eks-test")), "k8s-provider");
    // The tile38 password arrives as a plain string: the component must still store it as a secret.
    cluster = new kube.KubernetesTile38Cluster("main", argsOf(cfg, { tile38Password: TILE38_PASSWORD, sentinelPassword: pulumi.secret(SENTINEL_PASSWORD) }), { provider });
    await output(cluster.tile38Endpoints);
    await settle();
    main = recorded.filter((r) => r.name.startsWith("main"));
    // An existing namespace, no NetworkPolicies, no backups, default provider.
    const other = withConfig((c) => {
        Object.assign(c.kubernetes, { createNamespace: false, networkPolicies: false, namespace: "shared" });
        c.backup.enabled = false;
    });
    const second = new kube.KubernetesTile38Cluster("bare", argsOf(other, { tile38Password: pulumi.secret("a"), sentinelPassword: pulumi.secret("b") }));
    await output(second.sentinelEndpoints);
    await settle();
    bare = recorded.filter((r) => r.name.startsWith("bare"));
    // Backups with IRSA on EKS.
    const withIrsa = withConfig((c) => Object.assign(c.backup, { oidcProviderArn: OIDC_ARN, oidcProviderUrl: OIDC_URL }));
    await output(new kube.KubernetesTile38Cluster("irsa", argsOf(withIrsa, { tile38Password: "a", sentinelPassword: "b" })).tile38Endpoints);
    await settle();
    irsa = recorded.filter((r) => r.name.startsWith("irsa"));
    // Backups to an S3-compatible store with static keys.
    const compat = withConfig((c) => (c.backup.endpoint = "https://s3.example.internal"));
    await output(
        new kube.KubernetesTile38Cluster(
            "s3c",
            argsOf(compat, { tile38Password: "a", sentinelPassword: "b", backupAccessKeyId: pulumi.secret("KEYID"), backupSecretAccessKey: pulumi.secret("KEYSECRET") }),
        ).tile38Endpoints,
    );
    await settle();
    s3compat = recorded.filter((r) => r.name.startsWith("s3c"));
    // The Prometheus Operator's objects, asked for.
    const mon = withConfig((c) => Object.assign(c.metrics, { podMonitor: true, prometheusRule: true, monitorLabels: { release: "prometheus" } }));
    await output(new kube.KubernetesTile38Cluster("mon", argsOf(mon, { tile38Password: "a", sentinelPassword: "b" })).tile38Endpoints);
    await settle();
    monitored = recorded.filter((r) => r.name.startsWith("mon"));
}, 60_000); // five clusters, each settling under the mocks

const k8sObjects = (rs: Recorded[]) => rs.filter((r) => r.type.startsWith("kubernetes:"));
const ofType = (rs: Recorded[], type: string) => rs.filter((r) => r.type === type);
const one = (rs: Recorded[], type: string, name: string) => {
    const found = ofType(rs, type).filter((r) => r.inputs.metadata?.name === name);
    expect(found).toHaveLength(1);
    return found[0];
};
const STS = "kubernetes:apps/v1:StatefulSet";
const SVC = "kubernetes:core/v1:Service";

describe("KubernetesTile38Cluster under mocks", () => {
    it("declares every object once, with fixed names (the new passwords' Secret: their generation), under tile38-ha:kubernetes components", () => {
        const kinds = k8sObjects(main).map((r) => `${r.type} ${r.inputs.metadata.name}`).sort();
        expect(kinds).toEqual([
            "kubernetes:apps/v1:StatefulSet sentinel",
            "kubernetes:apps/v1:StatefulSet tile38",
            "kubernetes:batch/v1:Job tile38-ha-password-switch",
            "kubernetes:core/v1:ConfigMap tile38-ha-password-switch",
            "kubernetes:core/v1:ConfigMap tile38-ha-scripts",
            "kubernetes:core/v1:Namespace tile38",
            "kubernetes:core/v1:Secret tile38-ha-auth",
            "kubernetes:core/v1:Secret tile38-ha-auth-0a1b2c3d",
            "kubernetes:core/v1:Service sentinel",
            "kubernetes:core/v1:Service sentinel-headless",
            "kubernetes:core/v1:Service tile38-headless",
            "kubernetes:core/v1:ServiceAccount sentinel",
            "kubernetes:core/v1:ServiceAccount tile38",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy sentinel",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy tile38",
            "kubernetes:policy/v1:PodDisruptionBudget sentinel",
            "kubernetes:policy/v1:PodDisruptionBudget tile38",
        ]);
        const components = main.filter((r) => r.type.startsWith("tile38-ha:")).map((r) => r.type).sort();
        expect(components).toEqual([
            "tile38-ha:aws:BackupBucket",
            "tile38-ha:aws:BackupIam",
            "tile38-ha:index:KubernetesTile38Cluster",
            "tile38-ha:kubernetes:ClusterBackups",
            "tile38-ha:kubernetes:ClusterConfiguration",
            "tile38-ha:kubernetes:ClusterNetworkPolicies",
            "tile38-ha:kubernetes:PasswordSwitch",
            "tile38-ha:kubernetes:SentinelServiceAccount",
            "tile38-ha:kubernetes:SentinelStatefulSet",
            "tile38-ha:kubernetes:Tile38ServiceAccount",
            "tile38-ha:kubernetes:Tile38StatefulSet",
        ]);
    });

    it("puts every namespaced object into the stack's namespace", () => {
        for (const r of k8sObjects(main)) {
            if (r.type === "kubernetes:core/v1:Namespace") continue;
            expect([r.inputs.metadata.name, r.inputs.metadata.namespace]).toEqual([r.inputs.metadata.name, "tile38"]);
        }
    });

    it("manages every Kubernetes object with the given provider", () => {
        const prov = recorded.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "k8s-provider")!;
        expect(prov.inputs.context).toBe("eks-test");
        for (const r of k8sObjects(main)) expect(r.provider).toMatch(/::k8s-provider::/);
        for (const r of k8sObjects(bare)) expect(r.provider ?? "default").not.toMatch(/k8s-provider/);
    });

    it("stores both passwords in the Secret, as secrets", () => {
        const secret = one(main, "kubernetes:core/v1:Secret", "tile38-ha-auth");
        // The whole stringData travels as one secret (the SDK marks it; the component also
        // wraps each value, so a plain-string password is still a secret).
        const data = secret.inputs.stringData;
        expect(isWireSecret(data)).toBe(true);
        expect((data as Any).value).toEqual({ "tile38-password": TILE38_PASSWORD, "sentinel-password": SENTINEL_PASSWORD });
        expect(secret.inputs.type).toBe("Opaque");
        expect(secret.inputs.data).toBeUndefined();
    });

    it("wraps each password as a secret in the Secret's spec, even when given in plain text", async () => {
        const spec = kube.buildSecretSpec(cfg, { tile38: "plain-a", sentinel: "plain-b" });
        const values = Object.values(spec.stringData as Record<string, pulumi.Output<string>>);
        expect(values).toHaveLength(2);
        for (const v of values) expect(await pulumi.isSecret(v)).toBe(true);
    });

    it("never puts a password into another resource's inputs, nor into a Secret's or a generation's outside a wire secret", () => {
        for (const r of recorded) {
            const text = JSON.stringify(/^(kubernetes:core\/v1:Secret|random:index\/randomId:RandomId)$/.test(r.type) ? maskSecrets(r.inputs) : r.inputs);
            expect(text).not.toContain(TILE38_PASSWORD);
            expect(text).not.toContain(SENTINEL_PASSWORD);
        }
        // …and in the Secret only inside a wire secret.
        const secret = one(main, "kubernetes:core/v1:Secret", "tile38-ha-auth");
        const { stringData, ...rest } = secret.inputs;
        expect(JSON.stringify(rest)).not.toContain(TILE38_PASSWORD);
        expect(JSON.stringify(rest)).not.toContain(SENTINEL_PASSWORD);
        expect(isWireSecret(stringData)).toBe(true);
    });

    it("has no IP literal in any resource input, except listen-on-all/loopback inside the ConfigMap's scripts", () => {
        for (const r of recorded) {
            let found = findIpLiterals(r.inputs);
            if (r.type === STS && r.inputs.metadata.name === "tile38" && r.inputs.spec.template.spec.containers.length > 1) {
                // The backup sidecar (containers[1]) dials its own pod's Tile38 over loopback: the
                // containers of a pod share one network namespace, so this never changes either.
                // Its metrics listen on every address of the pod (BACKUP_METRICS_BIND), as Tile38's do.
                const sidecar = "$.spec.template.spec.containers[1].";
                const sidecarEnv = r.inputs.spec.template.spec.containers[1].env as Any[];
                const metricsBind = `${sidecar}env[${sidecarEnv.findIndex((e) => e.name === "BACKUP_METRICS_BIND")}].value`;
                expect(r.inputs.spec.template.spec.containers[1].name).toBe("backup-agent");
                for (const f of found.filter((f) => f.path.startsWith(sidecar))) expect(f.ip).toBe(f.path === metricsBind ? "0.0.0.0" : "127.0.0.1");
                found = found.filter((f) => !f.path.startsWith(sidecar));
            }
            if (r.type !== "kubernetes:core/v1:ConfigMap") {
                expect({ resource: `${r.type} ${r.name}`, found }).toEqual({ resource: `${r.type} ${r.name}`, found: [] });
                continue;
            }
            // Scripts bind to all addresses and talk to themselves over loopback; the templates
            // bind to all addresses. Neither is a pod address, neither changes on a reschedule.
            for (const f of found) expect(["0.0.0.0", "127.0.0.1", "::"]).toContain(f.ip);
            const templates = Object.entries(r.inputs.data as Record<string, string>).filter(([k]) => k.endsWith(".conf"));
            for (const [, conf] of templates) {
                const addressLines = conf.split("\n").filter((l) => /^sentinel (monitor|announce-ip)/.test(l));
                expect(addressLines).toHaveLength(2);
                expect(findIpLiterals(addressLines)).toEqual([]);
            }
        }
    });

    it("publishes not-ready addresses on both headless Services", () => {
        for (const name of ["tile38-headless", "sentinel-headless"]) {
            const svc = one(main, SVC, name);
            expect(svc.inputs.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
        }
    });

    it("runs both StatefulSets with pinned images, probes, resources, spread and non-root security", () => {
        const t38 = one(main, STS, "tile38").inputs.spec;
        const sen = one(main, STS, "sentinel").inputs.spec;
        const [tc] = t38.template.spec.containers;
        const [sc] = sen.template.spec.containers;
        expect([tc.image, sc.image]).toEqual(["tile38/tile38:1.37.0", "redis:7.2.12-alpine"]);
        expect(tc.readinessProbe.exec.command).toEqual(["sh", "-c", "wget -q -O /dev/null http://localhost:9851/healthz && test -f /data/.tile38-ha-ready || exit 1"]);
        expect(sc.readinessProbe.exec.command.join(" ")).toContain("ping");
        expect(tc.livenessProbe.tcpSocket.port).toBe("tile38");
        expect(sc.livenessProbe.tcpSocket.port).toBe("sentinel");
        expect(tc.resources.limits).toEqual({ cpu: "1", memory: "2Gi" });
        expect(sc.resources.requests).toEqual({ cpu: "50m", memory: "64Mi" });
        for (const spec of [t38, sen]) {
            expect(spec.template.spec.securityContext.runAsNonRoot).toBe(true);
            expect(spec.template.spec.topologySpreadConstraints.map((t: Any) => t.topologyKey)).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
        }
        expect(tc.lifecycle.preStop.exec.command).toEqual(["sh", "/scripts/tile38-stop.sh"]);
        expect(t38.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(18);
        expect(t38.volumeClaimTemplates[0].spec.storageClassName).toBe("gp3");
    });

    it("mounts only ConfigMap keys that exist, and rolls pods when their scripts change", () => {
        const cm = one(main, "kubernetes:core/v1:ConfigMap", "tile38-ha-scripts").inputs.data as Record<string, string>;
        for (const name of ["tile38", "sentinel"]) {
            const sts = one(main, STS, name).inputs.spec;
            for (const v of sts.template.spec.volumes.filter((x: Any) => x.configMap)) {
                expect(v.configMap.name).toBe("tile38-ha-scripts");
                for (const item of v.configMap.items) expect(Object.keys(cm)).toContain(item.key);
            }
            expect(sts.template.metadata.annotations["tile38-ha/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
        }
        const hashes = (rs: Recorded[]) => ["tile38", "sentinel"].map((n) => one(rs, STS, n).inputs.spec.template.metadata.annotations["tile38-ha/config-hash"]);
        // The "bare" cluster lives in another namespace: every FQDN differs, so both hashes differ.
        const [t1, s1] = hashes(main);
        const [t2, s2] = hashes(bare);
        expect(t1).not.toBe(t2);
        expect(s1).not.toBe(s2);
    });

    it("creates PDBs and the ServiceAccount, and NetworkPolicies only when asked", () => {
        expect(one(main, "kubernetes:policy/v1:PodDisruptionBudget", "tile38").inputs.spec.maxUnavailable).toBe(1);
        expect(one(main, "kubernetes:policy/v1:PodDisruptionBudget", "sentinel").inputs.spec.maxUnavailable).toBe(1);
        expect(one(main, "kubernetes:core/v1:ServiceAccount", "tile38").inputs.automountServiceAccountToken).toBe(false);
        // The sentinels have their own account (not the namespace's `default`), no token either.
        expect(one(main, "kubernetes:core/v1:ServiceAccount", "sentinel").inputs.automountServiceAccountToken).toBe(false);
        expect(one(main, "kubernetes:apps/v1:StatefulSet", "sentinel").inputs.spec.template.spec.serviceAccountName).toBe("sentinel");
        expect(ofType(main, "kubernetes:networking.k8s.io/v1:NetworkPolicy")).toHaveLength(2);
        expect(ofType(bare, "kubernetes:networking.k8s.io/v1:NetworkPolicy")).toHaveLength(0);
    });

    it("uses an existing namespace without creating it", () => {
        expect(ofType(bare, "kubernetes:core/v1:Namespace")).toHaveLength(0);
        for (const r of k8sObjects(bare)) expect(r.inputs.metadata.namespace).toBe("shared");
    });

    it("exports endpoints by FQDN, the client Service host, master name and namespace", async () => {
        const fqdn = (set: string, i: number) => `${set}-${i}.${set}-headless.tile38.svc.cluster.local`;
        expect(await output(cluster.tile38Endpoints)).toEqual([0, 1, 2].map((i) => ({ host: fqdn("tile38", i), port: 9851 })));
        expect(await output(cluster.sentinelEndpoints)).toEqual([0, 1, 2].map((i) => ({ host: fqdn("sentinel", i), port: 5000 })));
        expect(await output(cluster.sentinelServiceHost)).toBe("sentinel.tile38.svc.cluster.local");
        expect(await output(cluster.sentinelPort)).toBe(5000);
        expect(await output(cluster.connection.masterName)).toBe("mymaster");
        expect(await output(cluster.namespace)).toBe("tile38");
        expect(await output(cluster.serviceAccountName)).toBe("tile38");
    });

    it("reports every problem of its arguments at once, by argument name", () => {
        let message = "";
        try {
            new kube.KubernetesTile38Cluster("wrong", { replicas: 0, tile38: { ports: [1, 2, 3] }, kubernetes: { namespace: "Bad_NS", tolerations: [{ operator: "Maybe" }] } });
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toContain('the arguments of KubernetesTile38Cluster "wrong" has 4 problems');
        for (const key of ["args.replicas", "args.tile38.ports", "args.kubernetes.namespace", "args.kubernetes.tolerations[0].operator"]) expect(message).toContain(`${key}:`);
    });
});

describe("a second cluster in the same namespace, from typed arguments only", () => {
    let geo: Recorded[];
    beforeAll(async () => {
        const c = new kube.KubernetesTile38Cluster("geo", {
            replicas: 3,
            tile38: { port: 9851 },
            backup: { enabled: false },
            kubernetes: {
                namespace: "tile38",
                createNamespace: false,
                labels: { team: "geo" },
                annotations: { "example.com/owner": "geo-team" },
                podAnnotations: { "example.com/scrape": "no" },
                tolerations: [{ key: "dedicated", operator: "Equal", value: "geo", effect: "NoSchedule" }],
                nodeSelector: { "kubernetes.io/os": "linux" },
                priorityClassName: "geo-critical",
                imagePullSecrets: ["regcred"],
                tile38Affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }] } } },
            },
        });
        await output(c.tile38Endpoints);
        await settle();
        geo = recorded.filter((r) => r.name.startsWith("geo"));
        expect(await output(c.connection.sentinelAddresses)).toEqual([0, 1, 2].map((i) => `geo-sentinel-${i}.geo-sentinel-headless.tile38.svc.cluster.local:5000`));
        expect(await output(c.serviceAccountName)).toBe("geo-tile38");
    });

    it("names every object after the component, so that the first cluster's names stay free", () => {
        const names = k8sObjects(geo).map((r) => `${r.type.split(":")[2]} ${r.inputs.metadata.name}`).sort();
        expect(names).toEqual([
            "ConfigMap geo-tile38-ha-password-switch",
            "ConfigMap geo-tile38-ha-scripts",
            "Job geo-tile38-ha-password-switch",
            "NetworkPolicy geo-sentinel",
            "NetworkPolicy geo-tile38",
            "PodDisruptionBudget geo-sentinel",
            "PodDisruptionBudget geo-tile38",
            "Secret geo-tile38-ha-auth",
            "Secret geo-tile38-ha-auth-0a1b2c3d",
            "Service geo-sentinel",
            "Service geo-sentinel-headless",
            "Service geo-tile38-headless",
            "ServiceAccount geo-sentinel",
            "ServiceAccount geo-tile38",
            "StatefulSet geo-sentinel",
            "StatefulSet geo-tile38",
        ]);
        const mainNames = new Set(k8sObjects(main).map((r) => `${r.type} ${r.inputs.metadata.name}`));
        for (const r of k8sObjects(geo)) expect(mainNames.has(`${r.type} ${r.inputs.metadata.name}`)).toBe(false);
    });

    it("selects only its own pods (instance label) and points every reference at its own objects", () => {
        const sts = one(geo, STS, "geo-tile38").inputs;
        expect(sts.spec.selector.matchLabels["app.kubernetes.io/instance"]).toBe("geo");
        expect(sts.spec.serviceName).toBe("geo-tile38-headless");
        const pod = sts.spec.template.spec;
        expect(pod.serviceAccountName).toBe("geo-tile38");
        expect(pod.volumes.find((v: Any) => v.name === "scripts").configMap.name).toBe("geo-tile38-ha-scripts");
        const env = Object.fromEntries((pod.containers[0].env as Any[]).map((e) => [e.name, e]));
        expect(env.TILE38_PASSWORD.valueFrom.secretKeyRef.name).toBe("geo-tile38-ha-auth");
        expect(env.NODE_HOST.value).toBe("$(POD_NAME).geo-tile38-headless.tile38.svc.cluster.local");
        for (const svc of ofType(geo, SVC)) expect(svc.inputs.spec.selector["app.kubernetes.io/instance"]).toBe("geo");
        for (const pdb of ofType(geo, "kubernetes:policy/v1:PodDisruptionBudget")) expect(pdb.inputs.spec.selector.matchLabels["app.kubernetes.io/instance"]).toBe("geo");
        const sentinelPod = one(geo, STS, "geo-sentinel").inputs.spec.template.spec;
        expect(sentinelPod.volumes.find((v: Any) => v.name === "templates").configMap.items.map((i: Any) => i.key)).toEqual([0, 1, 2].map((i) => `geo-sentinel-${i}.conf`));
        const data = one(geo, "kubernetes:core/v1:ConfigMap", "geo-tile38-ha-scripts").inputs.data;
        for (const i of [0, 1, 2]) expect(data[`geo-sentinel-${i}.conf`]).toContain("geo-tile38-0.geo-tile38-headless.tile38.svc.cluster.local");
    });

    it("puts the team's labels, annotations and scheduling on every object and pod", () => {
        for (const r of k8sObjects(geo)) {
            expect(r.inputs.metadata.labels.team).toBe("geo");
            // The switch Job's own: a failed Job is replaced by the next update.
            const { "pulumi.com/replaceUnready": _replaceUnready, ...annotations } = r.inputs.metadata.annotations;
            expect(annotations).toEqual({ "example.com/owner": "geo-team" });
        }
        for (const name of ["geo-tile38", "geo-sentinel"]) {
            const sts = one(geo, STS, name).inputs;
            const pod = sts.spec.template.spec;
            expect(sts.spec.template.metadata.labels.team).toBe("geo");
            expect(sts.spec.template.metadata.annotations["example.com/scrape"]).toBe("no");
            // Claim templates cannot change: they keep only the selector labels.
            expect(sts.spec.volumeClaimTemplates[0].metadata.labels.team).toBeUndefined();
            expect(pod.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "geo", effect: "NoSchedule" }]);
            expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
            expect(pod.priorityClassName).toBe("geo-critical");
            expect(pod.imagePullSecrets).toEqual([{ name: "regcred" }]);
        }
        expect(one(geo, STS, "geo-tile38").inputs.spec.template.spec.affinity.nodeAffinity).toBeDefined();
        // The sentinels keep the default anti-affinity, on their own instance's pods.
        const anti = one(geo, STS, "geo-sentinel").inputs.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
        expect(anti.podAffinityTerm.labelSelector.matchLabels["app.kubernetes.io/instance"]).toBe("geo");
    });

    it("leaves a stack-config cluster's pods exactly as before the options existed", () => {
        const pod = one(main, STS, "tile38").inputs.spec.template.spec;
        for (const f of ["tolerations", "nodeSelector", "priorityClassName", "imagePullSecrets"]) expect(pod[f]).toBeUndefined();
        expect(one(main, STS, "tile38").inputs.spec.selector.matchLabels["app.kubernetes.io/instance"]).toBeUndefined();
        expect(one(main, STS, "tile38").inputs.metadata.annotations).toBeUndefined();
    });
});

describe("KubernetesTile38Cluster backups under mocks", () => {
    const podSpec = (rs: Recorded[]) => one(rs, STS, "tile38").inputs.spec.template.spec;
    const container = (rs: Recorded[], name: string) => (podSpec(rs).containers as Any[]).find((c) => c.name === name);
    const envOf = (c: Any, name: string) => (c.env as Any[]).find((e) => e.name === name);

    it("creates the hardened bucket and the prefix-limited writer policy, no IRSA role without OIDC settings", () => {
        const bucket = ofType(main, "aws:s3/bucket:Bucket");
        expect(bucket).toHaveLength(1);
        expect(bucket[0].inputs.bucketPrefix).toBe("tile38-ha-k8s-backups");
        expect(ofType(main, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs).toMatchObject({ blockPublicAcls: true, restrictPublicBuckets: true });
        expect(ofType(main, "aws:s3/bucketVersioning:BucketVersioning")[0].inputs.versioningConfiguration.status).toBe("Enabled");
        const policy = JSON.parse(ofType(main, "aws:iam/policy:Policy")[0].inputs.policy);
        expect(policy.Statement[0].Resource).toBe("arn:aws:s3:::main-backups-bucket-fake/tile38/k8s/*");
        expect(ofType(main, "aws:iam/role:Role")).toHaveLength(0);
        expect(one(main, "kubernetes:core/v1:ServiceAccount", "tile38").inputs.metadata.annotations ?? {}).toEqual({});
    });

    it("adds the backup sidecar on the data volume and the restore command to every Tile38 pod", () => {
        const sidecar = container(main, "backup-agent");
        expect(sidecar.image).toBe("amazon/aws-cli:2.9.19");
        expect(envOf(sidecar, "BACKUP_BUCKET_NAME").value).toBe("main-backups-bucket-fake");
        expect(envOf(sidecar, "BACKUP_PREFIX").value).toBe("tile38/k8s/");
        expect(envOf(sidecar, "TILE38_PASSWORD").valueFrom).toEqual({ secretKeyRef: { name: "tile38-ha-auth", key: "tile38-password" } });
        expect(envOf(sidecar, "AWS_ACCESS_KEY_ID")).toBeUndefined();
        expect(sidecar.volumeMounts).toEqual([
            { name: "data", mountPath: "/data" },
            { name: "tmp", mountPath: "/tmp" },
        ]);
        expect(sidecar.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
        expect(envOf(sidecar, "HOME").value).toBe("/tmp");
        const restore = envOf(container(main, "tile38"), "TILE38_RESTORE_CMD").value as string;
        expect(restore).toContain("RESTORE_TIMEOUT='600'");
        expect(podSpec(bare).containers.map((c: Any) => c.name)).toEqual(["tile38"]);
        expect(envOf(container(bare, "tile38"), "TILE38_RESTORE_CMD")).toBeUndefined();
        expect(ofType(bare, "aws:s3/bucket:Bucket")).toHaveLength(0);
    });

    it("with OIDC settings: an IRSA role trusted only by the tile38 ServiceAccount, annotated on it", () => {
        const role = ofType(irsa, "aws:iam/role:Role");
        expect(role).toHaveLength(1);
        const trust = JSON.parse(role[0].inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals[`${OIDC_URL}:sub`]).toBe("system:serviceaccount:tile38:tile38");
        const annotations = one(irsa, "kubernetes:core/v1:ServiceAccount", "tile38").inputs.metadata.annotations;
        expect(annotations).toEqual({ "eks.amazonaws.com/role-arn": `arn:aws:iam::123456789012:role/${role[0].name}` });
        expect(ofType(irsa, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toHaveLength(1);
    });

    it("with an S3-compatible endpoint: static keys from the cluster Secret, no IAM", () => {
        expect(ofType(s3compat, "aws:iam/policy:Policy")).toHaveLength(0);
        const sidecar = container(s3compat, "backup-agent");
        expect(envOf(sidecar, "BACKUP_ENDPOINT").value).toBe("https://s3.example.internal");
        expect(envOf(sidecar, "AWS_ACCESS_KEY_ID").valueFrom).toEqual({ secretKeyRef: { name: "tile38-ha-auth", key: "backup-access-key-id" } });
        expect(envOf(sidecar, "AWS_SECRET_ACCESS_KEY").valueFrom).toEqual({ secretKeyRef: { name: "tile38-ha-auth", key: "backup-secret-access-key" } });
        const data = one(s3compat, "kubernetes:core/v1:Secret", "tile38-ha-auth").inputs.stringData;
        expect(isWireSecret(data)).toBe(true);
        expect((data as Any).value).toMatchObject({ "backup-access-key-id": "KEYID", "backup-secret-access-key": "KEYSECRET" });
        // The custom endpoint gets its own aws provider (path-style addressing).
        expect(recorded.some((r) => r.type === "pulumi:providers:aws" && r.name.startsWith("s3c") && String(r.inputs.s3UsePathStyle) === "true")).toBe(true);
    });
});

describe("PodMonitor and PrometheusRule under mocks", () => {
    const POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor";
    const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

    it("are created only when asked for", () => {
        for (const rs of [main, bare, irsa, s3compat]) {
            expect(rs.filter((r) => r.type.includes("monitoring.coreos.com") || r.type === "tile38-ha:kubernetes:ClusterMonitors")).toEqual([]);
        }
        expect(ofType(monitored, "tile38-ha:kubernetes:ClusterMonitors")).toHaveLength(1);
        expect(ofType(monitored, POD_MONITOR)).toHaveLength(1);
        expect(ofType(monitored, PROMETHEUS_RULE)).toHaveLength(1);
    });

    it("scrape the cluster's three metrics ports, labelled with the component's name as the cluster", () => {
        const pm = one(monitored, POD_MONITOR, "tile38-ha").inputs;
        expect(pm.metadata).toMatchObject({ namespace: "tile38", labels: { release: "prometheus" } });
        expect(pm.spec.podMetricsEndpoints.map((e: Any) => e.port)).toEqual(["metrics", "backup-metrics", "exporter"]);
        for (const e of pm.spec.podMetricsEndpoints) {
            expect(e.relabelings).toContainEqual({ action: "replace", targetLabel: "tile38_ha_cluster", replacement: "mon" });
        }
        // Every endpoint's port is a named port of the pods the monitor selects.
        const named = ["tile38", "sentinel"].flatMap((set) => (one(monitored, STS, set).inputs.spec.template.spec.containers as Any[]).flatMap((c) => (c.ports ?? []).map((p: Any) => p.name)));
        for (const e of pm.spec.podMetricsEndpoints) expect(named).toContain(e.port);
        const rule = one(monitored, PROMETHEUS_RULE, "tile38-ha").inputs;
        expect(rule.metadata.labels.release).toBe("prometheus");
        // The shipped groups, every rule of the generated rule file.
        expect(rule.spec.groups.map((g: Any) => g.name)).toEqual(TILE38_HA_RULE_GROUPS.map((g) => g.name));
        expect(rule.spec.groups.flatMap((g: Any) => g.rules.map((r: Any) => r.alert))).toContain("Tile38HaNoWritableLeader");
    });
});
