import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { renderSentinelConf } from "../render/sentinelConf";
import { renderSentinelStartScript } from "../render/sentinelScripts";
import { renderTile38StartScript, renderTile38StopScript } from "../render/tile38Scripts";
import { Topology } from "../render/topology";
import { CONFIGMAP_KEYS, objectMeta, objectNames, K8S_SECRET_KEYS } from "./common";

/**
 * Sentinels listen on every address of their pod, IPv4 and (where present) IPv6: Redis 7's
 * wildcard form, so the config holds no address at all (the pod IP changes on every reschedule;
 * peers and clients reach the sentinel through its FQDN).
 */
export const SENTINEL_BIND = "* -::*";

/**
 * The ConfigMap's data: the Tile38 start and stop scripts, the sentinel start script and one
 * sentinel template per sentinel pod (`sentinel-0.conf`, …). Every template monitors node 0 (the
 * leader of a brand-new cluster) by its FQDN and announces its own pod's FQDN; the sentinel start
 * script replaces the monitored leader with the one its running peers name. No secrets: the
 * scripts read the passwords from the environment.
 */
export function buildConfigMapData(topo: Topology): Record<string, string> {
    if (topo.nodes.length === 0) throw new Error("the topology has no Tile38 node");
    const leader = topo.nodes[0];
    const data: Record<string, string> = {
        [CONFIGMAP_KEYS.tile38Start]: renderTile38StartScript(topo),
        [CONFIGMAP_KEYS.tile38Stop]: renderTile38StopScript(topo),
        [CONFIGMAP_KEYS.sentinelStart]: renderSentinelStartScript(topo),
    };
    for (const s of topo.sentinels) data[`${s.name}.conf`] = renderSentinelConf(s, topo, leader, SENTINEL_BIND);
    return data;
}

/** The ConfigMap object (see {@link buildConfigMapData}). */
export function buildConfigMapSpec(cfg: StackConfig, topo: Topology): k8s.core.v1.ConfigMapArgs {
    return { metadata: objectMeta(objectNames(cfg).configMap, cfg), data: buildConfigMapData(topo) };
}

/** The Secret object; both values stay Pulumi secrets (wrapped again here in case a caller passed plain strings). */
export function buildSecretSpec(cfg: StackConfig, passwords: ClusterConfigurationArgs["passwords"]): k8s.core.v1.SecretArgs {
    return {
        metadata: objectMeta(objectNames(cfg).secret, cfg),
        type: "Opaque",
        stringData: {
            [K8S_SECRET_KEYS.tile38Password]: pulumi.secret(passwords.tile38),
            [K8S_SECRET_KEYS.sentinelPassword]: pulumi.secret(passwords.sentinel),
            ...(passwords.backupAccessKeyId !== undefined && passwords.backupSecretAccessKey !== undefined
                ? {
                      [K8S_SECRET_KEYS.backupAccessKeyId]: pulumi.secret(passwords.backupAccessKeyId),
                      [K8S_SECRET_KEYS.backupSecretAccessKey]: pulumi.secret(passwords.backupSecretAccessKey),
                  }
                : {}),
        },
    };
}

/** What the cluster Secret holds (e.g. from `ClusterPasswords` and the stack's backup secrets). */
export interface ClusterSecrets {
    /** Tile38 `requirepass`/`leaderauth`. */
    tile38: pulumi.Input<string>;
    /** The sentinels' `requirepass`/`sentinel-pass`. */
    sentinel: pulumi.Input<string>;
    /** Static S3 access key id of the backup sidecars (stores outside AWS). Default: none (IRSA or the node's role). */
    backupAccessKeyId?: pulumi.Input<string>;
    /** Static S3 secret access key of the backup sidecars. Default: none. */
    backupSecretAccessKey?: pulumi.Input<string>;
}

/** Arguments of {@link ClusterConfiguration}. */
export interface ClusterConfigurationArgs {
    /** The complete stack config (namespace, cluster domain). */
    config: StackConfig;
    /** The Kubernetes topology (`kubernetesTopology(config)`): every host is a pod FQDN. */
    topology: Topology;
    /** The cluster passwords; each ends up only in the Secret, as a Pulumi secret. */
    passwords: ClusterSecrets;
}

/** The ConfigMap with the rendered scripts/templates and the Secret with both passwords. */
export class ClusterConfiguration extends pulumi.ComponentResource {
    /** The ConfigMap (name {@link objectNames(cfg).configMap}). */
    readonly configMap: k8s.core.v1.ConfigMap;
    /** The Secret (name {@link objectNames(cfg).secret}). */
    readonly secret: k8s.core.v1.Secret;
    /** The ConfigMap's data, as rendered (for content hashes on the pod templates). */
    readonly data: Record<string, string>;

    constructor(name: string, args: ClusterConfigurationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:ClusterConfiguration", name, {}, opts);
        const spec = buildConfigMapSpec(args.config, args.topology);
        this.data = spec.data as Record<string, string>;
        this.configMap = new k8s.core.v1.ConfigMap(`${name}-scripts`, spec, { parent: this });
        this.secret = new k8s.core.v1.Secret(`${name}-auth`, buildSecretSpec(args.config, args.passwords), {
            parent: this,
            additionalSecretOutputs: ["data", "stringData"],
        });
        this.registerOutputs({ configMap: this.configMap, secret: this.secret });
    }
}
