import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { backupMetricsPorts, metricsPorts, sentinelExporterPorts } from "../../config/validate";
import { objectMeta, objectNames, selectorLabels } from "./common";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/**
 * Client pods: pods with `kubernetes.clientPodLabels`, in any namespace (an empty
 * namespaceSelector selects all namespaces; the pod labels are what grant access).
 */
export function clientPeer(cfg: StackConfig): Peer {
    return { namespaceSelector: {}, podSelector: { matchLabels: { ...cfg.kubernetes.clientPodLabels } } };
}

/**
 * The metrics scrapers: pods with `metrics.scraperPodLabels` in namespaces with
 * `metrics.scraperNamespaceLabels`. One peer holding both selectors, so a pod must match both.
 */
export function scraperPeer(cfg: StackConfig): Peer {
    // An empty selector is `{}` (every namespace or pod): the API server drops an empty matchLabels.
    const selector = (labels: Record<string, string>) => (Object.keys(labels).length > 0 ? { matchLabels: { ...labels } } : {});
    return { namespaceSelector: selector(cfg.metrics.scraperNamespaceLabels), podSelector: selector(cfg.metrics.scraperPodLabels) };
}

/** An ingress rule admitting only the scrapers on `ports`, or none without ports (metrics off). */
function scrapeRule(cfg: StackConfig, ports: number[]): k8s.types.input.networking.v1.NetworkPolicyIngressRule[] {
    return ports.length === 0 ? [] : [{ ports: ports.map((port) => ({ protocol: "TCP", port })), from: [scraperPeer(cfg)] }];
}

const tile38Peer = (cfg: StackConfig): Peer => ({ podSelector: { matchLabels: selectorLabels("tile38", cfg) } });
const sentinelPeer = (cfg: StackConfig): Peer => ({ podSelector: { matchLabels: selectorLabels("sentinel", cfg) } });

/**
 * Ingress to the Tile38 pods: on the Tile38 port from clients (they connect to the leader the
 * sentinels name), the sentinels (monitoring, failover commands) and the other Tile38 pods
 * (replication, the start scripts' checks). Tile38's and its backup agent's metrics ports, when
 * on, only from the scrapers ({@link scraperPeer}). Egress is not restricted.
 */
export function buildTile38NetworkPolicySpec(cfg: StackConfig): k8s.networking.v1.NetworkPolicyArgs {
    const ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[] = [
        { ports: [{ protocol: "TCP", port: cfg.tile38.port }], from: [clientPeer(cfg), sentinelPeer(cfg), tile38Peer(cfg)] },
    ];
    ingress.push(...scrapeRule(cfg, [...metricsPorts(cfg), ...backupMetricsPorts(cfg)]));
    return {
        metadata: objectMeta(objectNames(cfg).tile38NetworkPolicy, cfg, "tile38"),
        spec: { podSelector: { matchLabels: selectorLabels("tile38", cfg) }, policyTypes: ["Ingress"], ingress },
    };
}

/**
 * Ingress to the sentinels: on the sentinel port from clients, the other sentinels (hello
 * messages, votes) and the Tile38 pods (their start and stop scripts ask the sentinels); the
 * exporter's port, when on, only from the scrapers.
 */
export function buildSentinelNetworkPolicySpec(cfg: StackConfig): k8s.networking.v1.NetworkPolicyArgs {
    return {
        metadata: objectMeta(objectNames(cfg).sentinelNetworkPolicy, cfg, "sentinel"),
        spec: {
            podSelector: { matchLabels: selectorLabels("sentinel", cfg) },
            policyTypes: ["Ingress"],
            ingress: [
                { ports: [{ protocol: "TCP", port: cfg.sentinel.port }], from: [clientPeer(cfg), sentinelPeer(cfg), tile38Peer(cfg)] },
                ...scrapeRule(cfg, sentinelExporterPorts(cfg)),
            ],
        },
    };
}

/** Arguments of {@link ClusterNetworkPolicies}. */
export interface ClusterNetworkPoliciesArgs {
    /** The complete stack config: ports, `kubernetes.clientPodLabels`, the `metrics` scrapers. */
    config: StackConfig;
}

/** One ingress NetworkPolicy per StatefulSet (created only when `kubernetes.networkPolicies` is true). */
export class ClusterNetworkPolicies extends pulumi.ComponentResource {
    /** Policy for the Tile38 pods. */
    readonly tile38: k8s.networking.v1.NetworkPolicy;
    /** Policy for the sentinel pods. */
    readonly sentinel: k8s.networking.v1.NetworkPolicy;

    constructor(name: string, args: ClusterNetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:ClusterNetworkPolicies", name, {}, opts);
        this.tile38 = new k8s.networking.v1.NetworkPolicy(`${name}-tile38`, buildTile38NetworkPolicySpec(args.config), { parent: this });
        this.sentinel = new k8s.networking.v1.NetworkPolicy(`${name}-sentinel`, buildSentinelNetworkPolicySpec(args.config), { parent: this });
        this.registerOutputs({});
    }
}
