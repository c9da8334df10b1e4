/**
 * KubernetesTile38Cluster under Pulumi mocks: every object it declares, with the inputs the
 * provider would receive. Secrets arrive as Pulumi's wire secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { isWireSecret } from "../../../testing/pulumiMocks";
import { findIpLiterals, k8sStackConfig, withConfig } from "./helpers";

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
            return { id: `${args.name}_id`, state: args.inputs };
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

beforeAll(async () => {
    const provider = kube.createKubernetesProvider(withConfig((c) => (c.kubernetes.context = "eks-test")), "k8s-provider");
    // The tile38 password arrives as a plain string: the component must still store it as a secret.
    cluster = new kube.KubernetesTile38Cluster("main", { config: cfg, passwords: { tile38: TILE38_PASSWORD, sentinel: pulumi.secret(SENTINEL_PASSWORD) }, provider });
    await output(cluster.tile38Endpoints);
    await settle();
    main = recorded.filter((r) => r.name.startsWith("main"));
    // An existing namespace, no NetworkPolicies, default provider.
    const other = withConfig((c) => Object.assign(c.kubernetes, { createNamespace: false, networkPolicies: false, namespace: "shared" }));
    const second = new kube.KubernetesTile38Cluster("bare", { config: other, passwords: { tile38: pulumi.secret("a"), sentinel: pulumi.secret("b") } });
    await output(second.sentinelEndpoints);
    await settle();
    bare = recorded.filter((r) => r.name.startsWith("bare"));
});

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
    it("declares every object once, with fixed names, under tile38-ha:kubernetes components", () => {
        const kinds = k8sObjects(main).map((r) => `${r.type} ${r.inputs.metadata.name}`).sort();
        expect(kinds).toEqual([
            "kubernetes:apps/v1:StatefulSet sentinel",
            "kubernetes:apps/v1:StatefulSet tile38",
            "kubernetes:core/v1:ConfigMap tile38-ha-scripts",
            "kubernetes:core/v1:Namespace tile38",
            "kubernetes:core/v1:Secret tile38-ha-auth",
            "kubernetes:core/v1:Service sentinel",
            "kubernetes:core/v1:Service sentinel-headless",
            "kubernetes:core/v1:Service tile38-headless",
            "kubernetes:core/v1:ServiceAccount tile38",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy sentinel",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy tile38",
            "kubernetes:policy/v1:PodDisruptionBudget sentinel",
            "kubernetes:policy/v1:PodDisruptionBudget tile38",
        ]);
        const components = main.filter((r) => r.type.startsWith("tile38-ha:")).map((r) => r.type).sort();
        expect(components).toEqual([
            "tile38-ha:kubernetes:ClusterConfiguration",
            "tile38-ha:kubernetes:ClusterNetworkPolicies",
            "tile38-ha:kubernetes:KubernetesTile38Cluster",
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

    it("never puts a password into another resource's inputs", () => {
        for (const r of recorded) {
            if (r.type === "kubernetes:core/v1:Secret") continue;
            const text = JSON.stringify(r.inputs);
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
            const found = findIpLiterals(r.inputs);
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
        expect(tc.readinessProbe.httpGet.path).toBe("/healthz");
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
        expect(await output(cluster.masterName)).toBe("mymaster");
        expect(await output(cluster.namespace)).toBe("tile38");
        expect(await output(cluster.serviceAccountName)).toBe("tile38");
    });

    it("refuses a Docker config", () => {
        expect(() => new kube.KubernetesTile38Cluster("wrong", { config: withConfig((c) => (c.target = "docker")), passwords: { tile38: "a", sentinel: "b" } })).toThrow(
            /target "kubernetes"/,
        );
    });
});
