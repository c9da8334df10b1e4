/**
 * Metrics on the Kubernetes target (issue 26): the sentinels' exporter sidecar, the backup
 * agents' metrics port, who may scrape them, and the PodMonitor and PrometheusRule, built from the
 * k8s stack's config.
 */
import { kubernetesTopology } from "../../../components/render/topology";
import {
    backupSidecarContainer,
    buildPodMonitorSpec,
    buildPrometheusRuleSpec,
    buildSentinelNetworkPolicySpec,
    buildSentinelStatefulSetSpec,
    buildTile38NetworkPolicySpec,
    clusterPodSelector,
    selectorLabels,
} from "../../../components/kubernetes";
import { TILE38_HA_RULE_GROUPS } from "../../../components/monitoring/alertRules";
import { StackConfig } from "../../../config/types";
import { findIpLiterals, k8sStackConfig, withConfig } from "../../../testing/unitKubernetesConfig";

type Any = any; // manifests are deep plain objects; the tests index into them freely

const cfg = k8sStackConfig();
const noMetrics = withConfig((c) => (c.metrics.enabled = false));
const sentinelPod = (c: StackConfig): Any => (buildSentinelStatefulSetSpec(c, kubernetesTopology(c), { configHash: "h" }) as Any).spec.template.spec;
const sidecar = (c: StackConfig): Any =>
    backupSidecarContainer({ config: c, bucket: "b", dataVolumeName: "data", tmpVolumeName: "tmp", tile38PasswordSecret: { name: "tile38-ha-auth", key: "tile38-password" } });
const envOf = (c: Any): Record<string, Any> => Object.fromEntries((c.env as Any[]).map((e) => [e.name, e]));
const MONITORING_NS = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: {} };

describe("the sentinels' exporter", () => {
    it("runs beside every sentinel by default, on its own sentinel, with the sentinel password from the Secret", () => {
        const pod = sentinelPod(cfg);
        expect(pod.containers.map((c: Any) => c.name)).toEqual(["sentinel", "exporter"]);
        const exporter = pod.containers[1];
        expect(exporter.image).toBe("oliver006/redis_exporter:v1.74.0");
        expect(exporter.command).toBeUndefined(); // the image's entrypoint is the exporter
        expect(exporter.args).toEqual(["--redis.addr=redis://localhost:5000", "--web.listen-address=:9121"]);
        expect(exporter.env).toEqual([{ name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "tile38-ha-auth", key: "sentinel-password" } } }]);
        expect(exporter.ports).toEqual([{ name: "exporter", containerPort: 9121, protocol: "TCP" }]);
        expect(exporter.resources).toEqual({ requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } });
        expect(exporter.readinessProbe).toMatchObject({ httpGet: { path: "/health", port: "exporter" } });
        expect(exporter.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
        expect(findIpLiterals(exporter)).toEqual([]);
    });

    it("follows the sentinel port, its own port and image", () => {
        const c = withConfig((x) => {
            x.sentinel.port = 26379;
            Object.assign(x.metrics, { sentinelExporterPort: 9200, sentinelExporterImage: "registry.example/redis_exporter:v1.74.0" });
        });
        const exporter = sentinelPod(c).containers[1];
        expect(exporter.args).toEqual(["--redis.addr=redis://localhost:26379", "--web.listen-address=:9200"]);
        expect(exporter.image).toBe("registry.example/redis_exporter:v1.74.0");
        expect(exporter.ports[0].containerPort).toBe(9200);
    });

    it("is not there with metrics off", () => {
        expect(sentinelPod(noMetrics).containers.map((c: Any) => c.name)).toEqual(["sentinel"]);
    });
});

describe("the backup agent's metrics", () => {
    it("serves them on every address of the pod, on a named port, by default", () => {
        const s = sidecar(cfg);
        expect(envOf(s).BACKUP_METRICS_BIND.value).toBe("0.0.0.0");
        expect(envOf(s).BACKUP_METRICS_PORT.value).toBe("9141");
        expect(s.ports).toEqual([{ name: "backup-metrics", containerPort: 9141, protocol: "TCP" }]);
    });

    it("has neither the env nor the port with metrics off", () => {
        const s = sidecar(noMetrics);
        expect(envOf(s).BACKUP_METRICS_BIND).toBeUndefined();
        expect(envOf(s).BACKUP_METRICS_PORT).toBeUndefined();
        expect(s.ports).toBeUndefined();
    });
});

describe("NetworkPolicies: the metrics ports only from the scrapers", () => {
    const rules = (policy: Any): Any[] => policy.spec.ingress;

    it("admits Tile38's and the backup agent's metrics, and the exporter, only from the scraper namespaces' pods", () => {
        expect(rules(buildTile38NetworkPolicySpec(cfg))[1]).toEqual({ ports: [{ protocol: "TCP", port: 4321 }, { protocol: "TCP", port: 9141 }], from: [MONITORING_NS] });
        expect(rules(buildSentinelNetworkPolicySpec(cfg))[1]).toEqual({ ports: [{ protocol: "TCP", port: 9121 }], from: [MONITORING_NS] });
        // Every rule names its peers: no port is open to any pod.
        for (const policy of [buildTile38NetworkPolicySpec(cfg), buildSentinelNetworkPolicySpec(cfg)]) {
            for (const r of rules(policy)) expect(r.from.length).toBeGreaterThan(0);
        }
    });

    it("puts both selectors into one peer (a pod must match both)", () => {
        const c = withConfig((x) => Object.assign(x.metrics, { scraperNamespaceLabels: { team: "observability" }, scraperPodLabels: { "app.kubernetes.io/name": "prometheus" } }));
        const peer = { namespaceSelector: { matchLabels: { team: "observability" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } };
        expect(rules(buildTile38NetworkPolicySpec(c))[1].from).toEqual([peer]);
        expect(rules(buildSentinelNetworkPolicySpec(c))[1].from).toEqual([peer]);
    });

    it("has no metrics rule with metrics off, and no backup port without backups", () => {
        expect(rules(buildTile38NetworkPolicySpec(noMetrics))).toHaveLength(1);
        expect(rules(buildSentinelNetworkPolicySpec(noMetrics))).toHaveLength(1);
        const noBackups = withConfig((x) => (x.backup.enabled = false));
        expect(rules(buildTile38NetworkPolicySpec(noBackups))[1].ports).toEqual([{ protocol: "TCP", port: 4321 }]);
    });
});

describe("the PodMonitor", () => {
    it("selects this cluster's Tile38 and sentinel pods, and a prefixed cluster's by its instance label", () => {
        const sel = clusterPodSelector(cfg) as Any;
        expect(sel.matchLabels).toEqual({ "app.kubernetes.io/part-of": "tile38-ha" });
        expect(sel.matchExpressions).toEqual([
            { key: "app.kubernetes.io/name", operator: "In", values: ["tile38", "sentinel"] },
            { key: "app.kubernetes.io/component", operator: "In", values: ["database", "failover-monitor"] },
            { key: "app.kubernetes.io/instance", operator: "DoesNotExist" },
        ]);
        const geo = withConfig((x) => (x.kubernetes.namePrefix = "geo-"));
        const geoSel = clusterPodSelector(geo) as Any;
        expect(geoSel.matchLabels).toEqual({ "app.kubernetes.io/part-of": "tile38-ha", "app.kubernetes.io/instance": "geo" });
        expect(geoSel.matchExpressions.map((e: Any) => e.key)).toEqual(["app.kubernetes.io/name", "app.kubernetes.io/component"]);
        // What the selector means, on the pods' own labels.
        const matches = (s: Any, labels: Record<string, string>) =>
            Object.entries(s.matchLabels).every(([k, v]) => labels[k] === v) &&
            s.matchExpressions.every((e: Any) => (e.operator === "In" ? e.values.includes(labels[e.key]) : !(e.key in labels)));
        for (const comp of ["tile38", "sentinel"] as const) {
            expect(matches(sel, selectorLabels(comp, cfg))).toBe(true);
            expect(matches(sel, selectorLabels(comp, geo))).toBe(false);
            expect(matches(geoSel, selectorLabels(comp, geo))).toBe(true);
            expect(matches(geoSel, selectorLabels(comp, cfg))).toBe(false);
        }
    });

    it("scrapes the three ports, labelling each series with its component, the cluster and the pod", () => {
        const c = withConfig((x) => (x.metrics.monitorLabels = { release: "prometheus" }));
        const pm = buildPodMonitorSpec(c, "tile38-ha-k8s") as Any;
        expect([pm.apiVersion, pm.kind, pm.metadata.name, pm.metadata.namespace]).toEqual(["monitoring.coreos.com/v1", "PodMonitor", "tile38-ha", "tile38"]);
        expect(pm.metadata.labels).toMatchObject({ release: "prometheus", "app.kubernetes.io/part-of": "tile38-ha" });
        expect(pm.spec.selector).toEqual(clusterPodSelector(c));
        const byPort = Object.fromEntries(pm.spec.podMetricsEndpoints.map((e: Any) => [e.port, e]));
        expect(Object.keys(byPort)).toEqual(["metrics", "backup-metrics", "exporter"]);
        for (const [port, component] of [["metrics", "tile38"], ["backup-metrics", "backup"], ["exporter", "sentinel"]]) {
            expect(byPort[port]).toEqual({
                port,
                path: "/metrics",
                relabelings: [
                    { action: "replace", targetLabel: "tile38_ha_component", replacement: component },
                    { action: "replace", targetLabel: "tile38_ha_cluster", replacement: "tile38-ha-k8s" },
                    { action: "replace", sourceLabels: ["__meta_kubernetes_pod_name"], targetLabel: "node" },
                ],
            });
        }
        const noBackups = buildPodMonitorSpec(withConfig((x) => (x.backup.enabled = false)), "x") as Any;
        expect(noBackups.spec.podMetricsEndpoints.map((e: Any) => e.port)).toEqual(["metrics", "exporter"]);
    });
});

describe("the PrometheusRule", () => {
    it("holds the shipped rule groups as they are, with the monitor labels", () => {
        const c = withConfig((x) => Object.assign(x.kubernetes, { namePrefix: "geo-" }, { labels: { team: "geo" } }));
        c.metrics.monitorLabels = { release: "prometheus", team: "sre" };
        const rule = buildPrometheusRuleSpec(c) as Any;
        expect([rule.apiVersion, rule.kind, rule.metadata.name]).toEqual(["monitoring.coreos.com/v1", "PrometheusRule", "geo-tile38-ha"]);
        expect(rule.spec.groups).toBe(TILE38_HA_RULE_GROUPS);
        // The monitor labels win over the team's labels: they are what the operator selects by.
        expect(rule.metadata.labels).toMatchObject({ release: "prometheus", team: "sre", "app.kubernetes.io/instance": "geo" });
    });
});
