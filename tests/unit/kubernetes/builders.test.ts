/**
 * The pure manifest builders of the Kubernetes target, tested directly on the k8s stack's config.
 */
import { SENTINEL_SCRIPT_ENV } from "../../../components/render/sentinelScripts";
import { TILE38_SCRIPT_ENV } from "../../../components/render/tile38Scripts";
import { kubernetesTopology } from "../../../components/render/topology";
import {
    buildConfigMapData,
    buildKubernetesProviderArgs,
    buildSentinelClientServiceSpec,
    buildSentinelHeadlessServiceSpec,
    buildSentinelNetworkPolicySpec,
    buildSentinelPdbSpec,
    buildSentinelStatefulSetSpec,
    buildServiceAccountSpec,
    buildTile38HeadlessServiceSpec,
    buildTile38NetworkPolicySpec,
    buildTile38PdbSpec,
    buildTile38StatefulSetSpec,
    CONFIGMAP_KEYS,
    OBJECT_NAMES,
    planKubernetesCluster,
    K8S_SECRET_KEYS,
    selectorLabels,
    sentinelTemplateKey,
} from "../../../components/kubernetes";
import { expandEnv, findIpLiterals, ipLiterals, k8sStackConfig, withConfig } from "../../../testing/unitKubernetesConfig";

type Any = any; // manifests are deep plain objects; the tests index into them freely

const cfg = k8sStackConfig();
const topo = kubernetesTopology(cfg);
const FQDN = (set: string, i: number) => `${set}-${i}.${set}-headless.tile38.svc.cluster.local`;

const tile38Sts = (c = cfg, backup?: Any): Any => buildTile38StatefulSetSpec(c, kubernetesTopology(c), { configHash: "h1", backup });
const sentinelSts = (c = cfg): Any => buildSentinelStatefulSetSpec(c, kubernetesTopology(c), { configHash: "h2" });
const container = (sts: Any, name: string): Any => sts.spec.template.spec.containers.find((c: Any) => c.name === name);
const envOf = (c: Any): Record<string, Any> => Object.fromEntries(c.env.map((e: Any) => [e.name, e]));

describe("the k8s stack file", () => {
    it("has the same ports and failover timings as dev, and stores backups in AWS", () => {
        expect(cfg.target).toBe("kubernetes");
        expect([cfg.replicas, cfg.sentinels, cfg.quorum, cfg.masterName]).toEqual([3, 3, 2, "mymaster"]);
        expect(cfg.tile38.port).toBe(9851);
        expect(cfg.sentinel).toMatchObject({ port: 5000, downAfterMilliseconds: 3000, parallelSyncs: 1, failoverTimeoutMilliseconds: 18000 });
        expect(cfg.backup.store).toBe("aws");
        expect(cfg.kubernetes.storageClass).toBe("gp3");
    });
});

describe("planKubernetesCluster", () => {
    it("names every pod and the client Service by FQDN", () => {
        const plan = planKubernetesCluster(cfg);
        expect(plan.tile38Endpoints).toEqual([0, 1, 2].map((i) => ({ host: FQDN("tile38", i), port: 9851 })));
        expect(plan.sentinelEndpoints).toEqual([0, 1, 2].map((i) => ({ host: FQDN("sentinel", i), port: 5000 })));
        expect(plan.sentinelServiceHost).toBe("sentinel.tile38.svc.cluster.local");
    });

    it("refuses a Docker config", () => {
        expect(() => planKubernetesCluster(withConfig((c) => (c.target = "docker")))).toThrow(/target "kubernetes"/);
    });
});

describe("Tile38 StatefulSet", () => {
    const sts = tile38Sts();
    const t38 = container(sts, "tile38");
    const env = envOf(t38);

    it("is a named StatefulSet behind the headless Service with the configured replicas", () => {
        expect(sts.metadata).toMatchObject({ name: "tile38", namespace: "tile38" });
        expect(sts.spec).toMatchObject({ serviceName: "tile38-headless", replicas: 3, podManagementPolicy: "Parallel", updateStrategy: { type: "RollingUpdate" } });
        expect(sts.spec.selector.matchLabels).toEqual(selectorLabels("tile38"));
        expect(sts.spec.template.metadata.labels).toMatchObject(selectorLabels("tile38"));
        expect(buildTile38StatefulSetSpec(withConfig((c) => (c.replicas = 5)), topo, { configHash: "x" }).spec!).toMatchObject({ replicas: 5 });
    });

    it("runs the pinned image with the start script and hands leadership over in preStop", () => {
        expect(t38.image).toBe("tile38/tile38:1.37.0");
        expect(container(tile38Sts(withConfig((c) => (c.tile38.image = "tile38/tile38:1.36.0@sha256:abc"))), "tile38").image).toBe("tile38/tile38:1.36.0@sha256:abc");
        expect(t38.command).toEqual(["sh", "/scripts/tile38-start.sh"]);
        expect(t38.lifecycle.preStop.exec.command).toEqual(["sh", "/scripts/tile38-stop.sh"]);
        const scripts = sts.spec.template.spec.volumes.find((v: Any) => v.name === "scripts");
        expect(scripts.configMap.name).toBe(OBJECT_NAMES.configMap);
        expect(scripts.configMap.items.map((i: Any) => i.path).sort()).toEqual(["tile38-start.sh", "tile38-stop.sh"]);
        expect(t38.volumeMounts).toContainEqual({ name: "scripts", mountPath: "/scripts", readOnly: true });
    });

    it("waits longer than the failover timeout before killing a stopping pod", () => {
        expect(sts.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(18);
        const slow = tile38Sts(withConfig((c) => (c.sentinel.failoverTimeoutMilliseconds = 120000)));
        expect(slow.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(120);
    });

    it("builds NODE_HOST from the pod name so that it expands to the pod's FQDN", () => {
        expect(env.POD_NAME.valueFrom.fieldRef.fieldPath).toBe("metadata.name");
        expect(env.NODE_HOST.value).toBe("$(POD_NAME).tile38-headless.tile38.svc.cluster.local");
        for (const node of topo.nodes) expect(expandEnv(env.NODE_HOST.value, { POD_NAME: node.name })).toBe(node.host);
        // $(POD_NAME) only expands when POD_NAME is defined earlier in the list.
        expect(t38.env.findIndex((e: Any) => e.name === "POD_NAME")).toBeLessThan(t38.env.findIndex((e: Any) => e.name === "NODE_HOST"));
        expect(env.NODE_PORT.value).toBe("9851");
        expect(env.DATA_DIR.value).toBe("/data");
    });

    it("reads both passwords from the Secret and sets only variables the start script reads", () => {
        expect(env.TILE38_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: OBJECT_NAMES.secret, key: K8S_SECRET_KEYS.tile38Password });
        expect(env.SENTINEL_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: OBJECT_NAMES.secret, key: K8S_SECRET_KEYS.sentinelPassword });
        for (const e of t38.env) if (e.name.includes("PASSWORD")) expect(e.value).toBeUndefined();
        for (const name of Object.keys(env)) expect(["POD_NAME", ...TILE38_SCRIPT_ENV]).toContain(name);
    });

    it("claims a data volume with the configured class and size, and keeps it", () => {
        const [claim] = sts.spec.volumeClaimTemplates;
        expect(claim.metadata.name).toBe("data");
        expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } }, storageClassName: "gp3" });
        expect(t38.volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
        expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        const defaultClass = tile38Sts(withConfig((c) => { delete c.kubernetes.storageClass; c.kubernetes.storageSize = "50Gi"; }));
        expect(defaultClass.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "50Gi" } } });
    });

    it("probes readiness with /healthz and the start script's ready mark, liveness over TCP", () => {
        expect(t38.ports).toEqual([{ name: "tile38", containerPort: 9851, protocol: "TCP" }, { name: "metrics", containerPort: 4321, protocol: "TCP" }]);
        expect(t38.readinessProbe.exec.command).toEqual(["sh", "-c", "wget -q -O /dev/null http://localhost:9851/healthz && test -f /data/.tile38-ha-ready || exit 1"]);
        expect(t38.livenessProbe.tcpSocket).toEqual({ port: "tile38" });
        // The start script may wait startupTimeoutSeconds for the sentinels: the startup probe must allow it.
        expect(t38.startupProbe.periodSeconds * t38.startupProbe.failureThreshold).toBeGreaterThan(cfg.tile38.startupTimeoutSeconds);
    });

    it("takes resources from the config", () => {
        expect(t38.resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "2Gi" } });
        const big = container(tile38Sts(withConfig((c) => (c.kubernetes.tile38Resources.limits.memory = "8Gi"))), "tile38");
        expect(big.resources.limits.memory).toBe("8Gi");
    });

    it("runs as a non-root user without privileges on a read-only root", () => {
        const pod = sts.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: expect.any(Number), runAsUser: expect.any(Number) });
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(t38.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
        expect(pod.volumes).toContainEqual({ name: "tmp", emptyDir: { sizeLimit: "64Mi" } });
        expect(pod.serviceAccountName).toBe(OBJECT_NAMES.serviceAccount);
        expect(pod.automountServiceAccountToken).toBe(false);
    });

    it("spreads pods across nodes (hard) and zones (soft)", () => {
        const spread = sts.spec.template.spec.topologySpreadConstraints;
        const byKey = Object.fromEntries(spread.map((s: Any) => [s.topologyKey, s]));
        expect(byKey["kubernetes.io/hostname"]).toMatchObject({ maxSkew: 1, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: selectorLabels("tile38") } });
        expect(byKey["topology.kubernetes.io/zone"]).toMatchObject({ maxSkew: 1, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selectorLabels("tile38") } });
        const anti = sts.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
        expect(anti.podAffinityTerm.labelSelector.matchLabels).toEqual(selectorLabels("tile38"));
    });

    it("has no metrics with metrics.enabled false", () => {
        const c = withConfig((x) => (x.metrics.enabled = false));
        const s = tile38Sts(c);
        expect(envOf(container(s, "tile38")).METRICS_PORT).toBeUndefined();
        expect(Object.keys(s.spec.template.metadata.annotations)).toEqual(["tile38-ha/config-hash"]);
        expect(buildTile38HeadlessServiceSpec(c).spec!).toMatchObject({ ports: [{ name: "tile38", port: 9851 }] });
        expect((buildTile38NetworkPolicySpec(c).spec as Any).ingress).toHaveLength(1);
    });

    it("exposes Prometheus metrics by default on tile38.metricsPort (4321), to the scrapers only", () => {
        expect(env.METRICS_PORT.value).toBe("4321");
        expect(t38.ports).toContainEqual({ name: "metrics", containerPort: 4321, protocol: "TCP" });
        expect(sts.spec.template.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "4321", "prometheus.io/path": "/metrics" });
        expect((buildTile38HeadlessServiceSpec(cfg).spec as Any).ports).toContainEqual({ name: "metrics", port: 4321, targetPort: "metrics" });
        const scrapers = [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: {} }];
        expect((buildTile38NetworkPolicySpec(cfg).spec as Any).ingress).toContainEqual({ ports: [{ protocol: "TCP", port: 4321 }, { protocol: "TCP", port: 9141 }], from: scrapers });
        const other = withConfig((x) => (x.tile38.metricsPort = 4400));
        expect(envOf(container(tile38Sts(other), "tile38")).METRICS_PORT.value).toBe("4400");
    });

    it("adds the backup hook's env, restore command, sidecars and volumes", () => {
        const s = tile38Sts(cfg, {
            env: [{ name: "BACKUP_BUCKET", value: "b" }],
            restoreCommand: "sh /backup/restore.sh",
            sidecars: [{ name: "backup", image: "amazon/aws-cli:2.9.19", volumeMounts: [{ name: "data", mountPath: "/data", readOnly: true }] }],
            initContainers: [{ name: "tools", image: "busybox:1.36.1" }],
            volumes: [{ name: "backup", emptyDir: {} }],
        });
        const e = envOf(container(s, "tile38"));
        expect(e.BACKUP_BUCKET.value).toBe("b");
        expect(e.TILE38_RESTORE_CMD.value).toBe("sh /backup/restore.sh");
        expect(s.spec.template.spec.containers.map((c: Any) => c.name)).toEqual(["tile38", "backup"]);
        expect(s.spec.template.spec.initContainers.map((c: Any) => c.name)).toEqual(["tools"]);
        expect(s.spec.template.spec.volumes.map((v: Any) => v.name)).toContain("backup");
        expect(tile38Sts().spec.template.spec.initContainers).toBeUndefined();
    });
});

describe("sentinel StatefulSet", () => {
    const sts = sentinelSts();
    const s = container(sts, "sentinel");
    const env = envOf(s);

    it("is a named StatefulSet behind its headless Service running the pinned image", () => {
        expect(sts.metadata).toMatchObject({ name: "sentinel", namespace: "tile38" });
        expect(sts.spec).toMatchObject({ serviceName: "sentinel-headless", replicas: 3 });
        expect(sts.spec.selector.matchLabels).toEqual(selectorLabels("sentinel"));
        expect(s.image).toBe("redis:7.2.12-alpine");
        expect(container(sentinelSts(withConfig((c) => (c.sentinel.image = "valkey/valkey:8.0.2-alpine"))), "sentinel").image).toBe("valkey/valkey:8.0.2-alpine");
        expect(s.command).toEqual(["sh", "/scripts/sentinel-start.sh"]);
        expect(s.ports).toEqual([{ name: "sentinel", containerPort: 5000, protocol: "TCP" }]);
    });

    it("gives every pod its own template and its own FQDN as SELF", () => {
        expect(env.SELF.value).toBe("$(POD_NAME).sentinel-headless.tile38.svc.cluster.local:5000");
        expect(env.SENTINEL_TEMPLATE.value).toBe("/templates/$(POD_NAME).conf");
        const data = buildConfigMapData(topo);
        const items = sts.spec.template.spec.volumes.find((v: Any) => v.name === "templates").configMap.items;
        for (const node of topo.sentinels) {
            const self = expandEnv(env.SELF.value, { POD_NAME: node.name });
            expect(self).toBe(`${node.host}:${node.port}`);
            const file = expandEnv(env.SENTINEL_TEMPLATE.value, { POD_NAME: node.name }).replace("/templates/", "");
            expect(items).toContainEqual({ key: file, path: file });
            // The template a pod reads announces that very pod.
            expect(data[file]).toContain(`sentinel announce-ip ${self.split(":")[0]}\n`);
        }
        for (const name of Object.keys(env)) expect(["POD_NAME", ...SENTINEL_SCRIPT_ENV]).toContain(name);
        expect(env.TILE38_PASSWORD.valueFrom.secretKeyRef.name).toBe(OBJECT_NAMES.secret);
        expect(env.SENTINEL_PASSWORD.valueFrom.secretKeyRef.key).toBe(K8S_SECRET_KEYS.sentinelPassword);
    });

    it("keeps sentinel.conf (myid, epochs) on a small persistent volume of its own", () => {
        const [claim] = sts.spec.volumeClaimTemplates;
        expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "gp3" });
        expect(s.volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
        expect(env.DATA_DIR.value).toBe("/data");
    });

    it("probes readiness with an authenticated PING and liveness over TCP", () => {
        const cmd = s.readinessProbe.exec.command;
        expect(cmd.slice(0, 2)).toEqual(["sh", "-c"]);
        expect(cmd[2]).toMatch(/REDISCLI_AUTH="\$SENTINEL_PASSWORD" redis-cli -p 5000 ping \| grep -q PONG/);
        expect(s.livenessProbe.tcpSocket).toEqual({ port: "sentinel" });
    });

    it("runs as the redis user without privileges, with configured resources and spread", () => {
        const pod = sts.spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 1000 });
        expect(s.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(s.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } });
        expect(pod.topologySpreadConstraints.map((t: Any) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
            ["kubernetes.io/hostname", "DoNotSchedule"],
            ["topology.kubernetes.io/zone", "ScheduleAnyway"],
        ]);
        expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(selectorLabels("sentinel"));
    });
});

describe("ConfigMap data", () => {
    const data = buildConfigMapData(topo);

    it("holds the three scripts and one template per sentinel pod", () => {
        expect(Object.keys(data).sort()).toEqual([CONFIGMAP_KEYS.sentinelStart, "sentinel-0.conf", "sentinel-1.conf", "sentinel-2.conf", CONFIGMAP_KEYS.tile38Start, CONFIGMAP_KEYS.tile38Stop].sort());
        expect(sentinelTemplateKey(1)).toBe("sentinel-1.conf");
        expect(data["tile38-stop.sh"]).toMatch(/SENTINEL FAILOVER/);
        expect(Object.keys(buildConfigMapData(kubernetesTopology(withConfig((c) => (c.sentinels = 5)))))).toContain("sentinel-4.conf");
    });

    it("renders templates that resolve and announce hostnames and monitor node 0 by FQDN", () => {
        for (const node of topo.sentinels) {
            const conf = data[sentinelTemplateKey(node.index)];
            const lines = conf.split("\n");
            expect(lines).toContain("sentinel resolve-hostnames yes");
            expect(lines).toContain("sentinel announce-hostnames yes");
            expect(lines).toContain(`sentinel announce-ip ${FQDN("sentinel", node.index)}`);
            expect(lines).toContain("sentinel announce-port 5000");
            expect(lines).toContain(`sentinel monitor mymaster ${FQDN("tile38", 0)} 9851 2`);
            expect(lines).toContain("sentinel down-after-milliseconds mymaster 3000");
            expect(lines).toContain("sentinel parallel-syncs mymaster 1");
            expect(lines).toContain("sentinel failover-timeout mymaster 18000");
            expect(lines).toContain("port 5000");
            expect(lines).toContain("bind * -::*");
            // No address of any host: names everywhere; only the IPv6 listen-on-all wildcard of `-::*`.
            expect(ipLiterals(conf)).toEqual(["::"]);
        }
        expect(new Set(Object.values(data)).size).toBe(Object.keys(data).length);
    });

    it("has no auth lines in the templates: the start script appends them from the environment", () => {
        for (const node of topo.sentinels) expect(data[sentinelTemplateKey(node.index)]).not.toMatch(/requirepass|auth-pass|sentinel-pass/);
        expect(data["sentinel-start.sh"]).toMatch(/\$TILE38_PASSWORD/);
    });
});

describe("Services, PDBs, NetworkPolicies, ServiceAccount, provider", () => {
    it("headless Services publish not-ready addresses and select their pods", () => {
        for (const [spec, comp, port] of [[buildTile38HeadlessServiceSpec(cfg), "tile38", 9851], [buildSentinelHeadlessServiceSpec(cfg), "sentinel", 5000]] as const) {
            const s = spec.spec as Any;
            expect(s.clusterIP).toBe("None");
            expect(s.publishNotReadyAddresses).toBe(true);
            expect(s.selector).toEqual(selectorLabels(comp));
            expect(s.ports[0]).toMatchObject({ port, targetPort: comp });
        }
        expect((buildTile38HeadlessServiceSpec(cfg).metadata as Any).name).toBe("tile38-headless");
        expect((buildSentinelHeadlessServiceSpec(cfg).metadata as Any).name).toBe("sentinel-headless");
    });

    it("the sentinels' client Service is a ClusterIP Service named sentinel over ready pods only", () => {
        const svc = buildSentinelClientServiceSpec(cfg) as Any;
        expect(svc.metadata).toMatchObject({ name: "sentinel", namespace: "tile38" });
        expect(svc.spec.type).toBe("ClusterIP");
        expect(svc.spec.clusterIP).toBeUndefined();
        expect(svc.spec.publishNotReadyAddresses).toBeUndefined();
        expect(svc.spec.ports).toEqual([{ name: "sentinel", port: 5000, targetPort: "sentinel" }]);
    });

    it("PDBs allow one pod down per StatefulSet", () => {
        expect((buildTile38PdbSpec(cfg) as Any).spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selectorLabels("tile38") } });
        expect((buildSentinelPdbSpec(cfg) as Any).spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selectorLabels("sentinel") } });
    });

    it("NetworkPolicies admit clients, sentinels and peers on the right ports only", () => {
        const client = { namespaceSelector: {}, podSelector: { matchLabels: { "tile38-ha/client": "true" } } };
        const sentinels = { podSelector: { matchLabels: selectorLabels("sentinel") } };
        const tile38 = { podSelector: { matchLabels: selectorLabels("tile38") } };
        const scrapers = [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: {} }];
        const t = buildTile38NetworkPolicySpec(cfg) as Any;
        expect(t.spec.podSelector.matchLabels).toEqual(selectorLabels("tile38"));
        expect(t.spec.policyTypes).toEqual(["Ingress"]);
        expect(t.spec.ingress).toEqual([
            { ports: [{ protocol: "TCP", port: 9851 }], from: [client, sentinels, tile38] },
            { ports: [{ protocol: "TCP", port: 4321 }, { protocol: "TCP", port: 9141 }], from: scrapers },
        ]);
        const s = buildSentinelNetworkPolicySpec(cfg) as Any;
        expect(s.spec.podSelector.matchLabels).toEqual(selectorLabels("sentinel"));
        expect(s.spec.ingress).toEqual([
            { ports: [{ protocol: "TCP", port: 5000 }], from: [client, sentinels, tile38] },
            { ports: [{ protocol: "TCP", port: 9121 }], from: scrapers },
        ]);
        const custom = buildTile38NetworkPolicySpec(withConfig((c) => (c.kubernetes.clientPodLabels = { app: "fleet-api" }))) as Any;
        expect(custom.spec.ingress[0].from[0].podSelector.matchLabels).toEqual({ app: "fleet-api" });
    });

    it("ServiceAccount carries config and backup annotations and mounts no token", () => {
        const c = withConfig((x) => (x.kubernetes.serviceAccountAnnotations = { team: "geo", "eks.amazonaws.com/role-arn": "from-config" }));
        const sa = buildServiceAccountSpec(c, { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup" }) as Any;
        expect(sa.metadata).toMatchObject({ name: "tile38", namespace: "tile38" });
        expect(sa.metadata.annotations).toEqual({ team: "geo", "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/backup" });
        expect(sa.automountServiceAccountToken).toBe(false);
    });

    it("provider args follow the config and stay ambient when unset", () => {
        expect(buildKubernetesProviderArgs(cfg)).toEqual({ enableConfigMapMutable: true });
        const c = withConfig((x) => Object.assign(x.kubernetes, { kubeconfig: "/k/config", context: "eks-prod", renderYamlToDirectory: "out" }));
        expect(buildKubernetesProviderArgs(c)).toEqual({ enableConfigMapMutable: true, kubeconfig: "/k/config", context: "eks-prod", renderYamlToDirectory: "out" });
    });

    it("uses the configured namespace and cluster domain everywhere", () => {
        const c = withConfig((x) => Object.assign(x.kubernetes, { namespace: "geo", clusterDomain: "corp.internal" }));
        const t = container(tile38Sts(c), "tile38");
        expect(envOf(t).NODE_HOST.value).toBe("$(POD_NAME).tile38-headless.geo.svc.corp.internal");
        expect(buildConfigMapData(kubernetesTopology(c))["sentinel-0.conf"]).toContain("sentinel monitor mymaster tile38-0.tile38-headless.geo.svc.corp.internal 9851 2");
        expect(planKubernetesCluster(c).sentinelServiceHost).toBe("sentinel.geo.svc.corp.internal");
    });
});

describe("no IP literal in the StatefulSets, Services and policies", () => {
    it("the IP finder finds addresses (so that the checks below can fail)", () => {
        expect(findIpLiterals({ a: ["x 10.1.2.3:9851", { b: "fd00::1" }], c: "::" })).toEqual([
            { path: "$.a[0]", ip: "10.1.2.3" },
            { path: "$.a[1].b", ip: "fd00::1" },
            { path: "$.c", ip: "::" },
        ]);
        expect(findIpLiterals({ host: "tile38-0.tile38-headless.tile38.svc.cluster.local:9851", t: "%H:%M:%S", v: "1.37.0" })).toEqual([]);
    });

    it("finds none in any builder output", () => {
        const c = cfg; // metrics on, the sentinels' exporter included
        const objects = [
            tile38Sts(c), sentinelSts(c), buildTile38HeadlessServiceSpec(c), buildSentinelHeadlessServiceSpec(c), buildSentinelClientServiceSpec(c),
            buildTile38PdbSpec(c), buildSentinelPdbSpec(c), buildTile38NetworkPolicySpec(c), buildSentinelNetworkPolicySpec(c), buildServiceAccountSpec(c),
        ];
        expect(findIpLiterals(objects)).toEqual([]);
    });
});
