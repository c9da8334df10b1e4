/**
 * The Prometheus Operator's objects, each only when asked for: a PodMonitor that scrapes every
 * metrics port of the cluster's pods (`metrics.podMonitor`) and a PrometheusRule holding the
 * shipped alert rules (`metrics.prometheusRule`). Both are custom resources
 * (monitoring.coreos.com/v1): the operator's CRDs must be installed before either is switched on,
 * or `pulumi up` fails with "no matches for kind". Builders are pure; the class creates them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { backupMetricsPorts, metricsPorts, sentinelExporterPorts } from "../../config/validate";
import { TILE38_HA_RULE_GROUPS } from "../monitoring/alertRules";
import { BACKUP_METRICS_PORT_NAME } from "./backupSidecar";
import { INSTANCE_LABEL_KEY, objectLabels, objectMeta, objectNames, selectorLabels } from "./common";
import { SENTINEL_EXPORTER_NAME } from "./sentinelExporter";
import { TILE38_PORT_NAMES } from "./tile38StatefulSet";

/** The API version of both custom resources. */
export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/** What `tile38_ha_component` says of a series: which process exported it. */
export type MetricsComponent = "tile38" | "backup" | "sentinel";

/** Labels every scraped series carries (the shipped alert rules group by them). */
export const METRICS_LABELS = { component: "tile38_ha_component", cluster: "tile38_ha_cluster", node: "node" } as const;

type Selector = k8s.types.input.meta.v1.LabelSelector;
type Relabeling = { action: string; targetLabel: string; replacement?: string; sourceLabels?: string[] };

/**
 * Both StatefulSets' pods of this cluster and no other: the selector labels the two share, the
 * `app.kubernetes.io/name` of either, and without a name prefix no instance label (a prefixed
 * cluster in the same namespace has one).
 */
export function clusterPodSelector(cfg: StackConfig): Selector {
    const tile38 = selectorLabels("tile38", cfg);
    const sentinel = selectorLabels("sentinel", cfg);
    const matchLabels = Object.fromEntries(Object.entries(tile38).filter(([k, v]) => sentinel[k] === v));
    const matchExpressions: k8s.types.input.meta.v1.LabelSelectorRequirement[] = Object.keys(tile38)
        .filter((k) => sentinel[k] !== tile38[k])
        .map((key) => ({ key, operator: "In", values: [tile38[key], sentinel[key]] }));
    if (!(INSTANCE_LABEL_KEY in tile38)) matchExpressions.push({ key: INSTANCE_LABEL_KEY, operator: "DoesNotExist" });
    return { matchLabels, matchExpressions };
}

/** One scraped port: its series get the component, the cluster's name and the pod's name as `node`. */
function endpoint(port: string, component: MetricsComponent, clusterName: string) {
    const relabelings: Relabeling[] = [
        { action: "replace", targetLabel: METRICS_LABELS.component, replacement: component },
        { action: "replace", targetLabel: METRICS_LABELS.cluster, replacement: clusterName },
        { action: "replace", sourceLabels: ["__meta_kubernetes_pod_name"], targetLabel: METRICS_LABELS.node },
    ];
    return { port, path: "/metrics", relabelings };
}

/** `metadata` of both monitors: the cluster's labels plus `metrics.monitorLabels` (what the operator selects them by). */
function monitorMeta(name: string, cfg: StackConfig): k8s.types.input.meta.v1.ObjectMeta {
    return { ...objectMeta(name, cfg), labels: { ...objectLabels(undefined, cfg), ...cfg.metrics.monitorLabels } };
}

/**
 * The PodMonitor: one endpoint per metrics port that is on (Tile38's `metrics`, the backup agents'
 * `backup-metrics`, the sentinels' `exporter`; a pod without the named port is not scraped on it).
 * `clusterName` is the `tile38_ha_cluster` label of every series.
 */
export function buildPodMonitorSpec(cfg: StackConfig, clusterName: string): k8s.apiextensions.CustomResourceArgs {
    const endpoints = [
        ...(metricsPorts(cfg).length > 0 ? [endpoint(TILE38_PORT_NAMES.metrics, "tile38", clusterName)] : []),
        ...(backupMetricsPorts(cfg).length > 0 ? [endpoint(BACKUP_METRICS_PORT_NAME, "backup", clusterName)] : []),
        ...(sentinelExporterPorts(cfg).length > 0 ? [endpoint(SENTINEL_EXPORTER_NAME, "sentinel", clusterName)] : []),
    ];
    return {
        apiVersion: MONITORING_API_VERSION,
        kind: "PodMonitor",
        metadata: monitorMeta(objectNames(cfg).podMonitor, cfg),
        spec: { selector: clusterPodSelector(cfg), podMetricsEndpoints: endpoints },
    };
}

/** The PrometheusRule: the shipped rule groups (components/monitoring/alertRules.ts), as they are. */
export function buildPrometheusRuleSpec(cfg: StackConfig): k8s.apiextensions.CustomResourceArgs {
    return {
        apiVersion: MONITORING_API_VERSION,
        kind: "PrometheusRule",
        metadata: monitorMeta(objectNames(cfg).prometheusRule, cfg),
        spec: { groups: TILE38_HA_RULE_GROUPS },
    };
}

/** Arguments of {@link ClusterMonitors}. */
export interface ClusterMonitorsArgs {
    /** The complete stack config: `metrics.*`, the name prefix, the namespace. */
    config: StackConfig;
    /** The cluster's name, the `tile38_ha_cluster` label (the component's name; `tile38-ha-<stack>` for the stack program). */
    clusterName: string;
}

/** The PodMonitor and the PrometheusRule, each only when its switch is on. */
export class ClusterMonitors extends pulumi.ComponentResource {
    /** The PodMonitor; undefined unless `metrics.podMonitor`. */
    readonly podMonitor?: k8s.apiextensions.CustomResource;
    /** The PrometheusRule; undefined unless `metrics.prometheusRule`. */
    readonly prometheusRule?: k8s.apiextensions.CustomResource;

    constructor(name: string, args: ClusterMonitorsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:ClusterMonitors", name, {}, opts);
        const m = args.config.metrics;
        if (m.podMonitor) this.podMonitor = new k8s.apiextensions.CustomResource(`${name}-pods`, buildPodMonitorSpec(args.config, args.clusterName), { parent: this });
        if (m.prometheusRule) this.prometheusRule = new k8s.apiextensions.CustomResource(`${name}-rules`, buildPrometheusRuleSpec(args.config), { parent: this });
        this.registerOutputs({});
    }
}
