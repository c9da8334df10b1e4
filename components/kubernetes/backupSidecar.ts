/**
 * The backup agent as a sidecar of every Tile38 pod, for the Kubernetes components to add to the
 * Tile38 StatefulSet's pod template. Pure: returns plain container specs.
 *
 * The pod must run as the ServiceAccount `tile38` (BACKUP_SERVICE_ACCOUNT_NAME) annotated with
 * `eks.amazonaws.com/role-arn: <BackupIam.roleArn>`: EKS then injects web-identity credentials
 * into every container, and the AWS CLI uses them. No access key is stored in the cluster unless
 * `credentialsSecret` is given (S3-compatible stores outside AWS).
 *
 * Manual use inside a pod (the script travels in the env var BACKUP_AGENT_SCRIPT, so the
 * container needs no writable file system):
 *   kubectl exec tile38-0 -c backup-agent -- bash -c 'bash -c "$BACKUP_AGENT_SCRIPT" agent list'
 *   kubectl exec tile38-0 -c backup-agent -- bash -c 'bash -c "$BACKUP_AGENT_SCRIPT" agent fetch latest /data/restore.aof'
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { backupMetricsPorts } from "../../config/validate";
import { backupAgentEnv, refreshSecondsFor, renderBackupAgentScript } from "../render/backupScripts";
import { containerSecurityContext } from "./common";

/** Name of the sidecar container. */
export const BACKUP_SIDECAR_NAME = "backup-agent";

/** Container port name of the agent's Prometheus metrics (what a PodMonitor scrapes). */
export const BACKUP_METRICS_PORT_NAME = "backup-metrics";

/** A key of a Kubernetes Secret. */
export interface SecretKeyRef {
    /** Secret name. */
    name: string;
    /** Key in the Secret. */
    key: string;
}

/** Arguments of {@link backupSidecarContainer}. */
export interface BackupSidecarArgs {
    /** The validated stack config (`backup.*`, `tile38.port`). */
    config: StackConfig;
    /** Bucket name (`BackupBucket.bucketName`, or `backup.existingBucket`). */
    bucket: pulumi.Input<string>;
    /** Name of the pod volume (or volumeClaimTemplate) that holds Tile38's data. */
    dataVolumeName: string;
    /** Where that volume is mounted in the Tile38 container; the sidecar mounts it at the same path. Default `/data`. */
    dataMountPath?: string;
    /**
     * A writable scratch volume (e.g. an emptyDir) mounted at /tmp, which is also the sidecar's
     * HOME: the root file system is read-only. Default: none (then the root file system stays
     * writable).
     */
    tmpVolumeName?: string;
    /** The Secret key holding the Tile38 password (e.g. `{ name: "tile38-ha-auth", key: "tile38-password" }`). */
    tile38PasswordSecret: SecretKeyRef;
    /** Static S3 credentials (S3-compatible stores outside AWS); unset = IRSA. */
    credentialsSecret?: { name: string; accessKeyIdKey: string; secretAccessKeyKey: string };
    /** Resources of the sidecar. Default requests 20m / 64Mi, limits 500m / 256Mi. */
    resources?: k8s.types.input.core.v1.ResourceRequirements;
}

/**
 * The sidecar container spec: the pinned AWS CLI image (`backup.agentImage`) running the agent
 * with the node's data volume, talking to Tile38 on 127.0.0.1:`tile38.port` inside the pod;
 * with `metrics.enabled` it serves its metrics on `metrics.backupPort`.
 */
export function backupSidecarContainer(args: BackupSidecarArgs): k8s.types.input.core.v1.Container {
    const b = args.config.backup;
    const dataDir = args.dataMountPath ?? "/data";
    const script = renderBackupAgentScript({ intervalSeconds: b.intervalSeconds, refreshSeconds: refreshSecondsFor(b.expireDays) });
    const plain = backupAgentEnv({
        nodeName: "$(POD_NAME)",
        tile38Host: "127.0.0.1",
        tile38Port: args.config.tile38.port,
        dataDir,
        bucket: "$(BACKUP_BUCKET_NAME)",
        keyPrefix: b.keyPrefix,
        endpoint: b.endpoint,
        region: b.region,
        createBucket: false,
    });
    const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "BACKUP_BUCKET_NAME", value: args.bucket },
        ...Object.entries(plain).map(([name, value]) => ({ name, value })),
        { name: "TILE38_PASSWORD", valueFrom: { secretKeyRef: { name: args.tile38PasswordSecret.name, key: args.tile38PasswordSecret.key } } },
        { name: "BACKUP_AGENT_SCRIPT", value: script },
        // The pod's user has no home directory in the image; the AWS CLI may write under HOME.
        { name: "HOME", value: "/tmp" },
    ];
    const metricsPort = backupMetricsPorts(args.config)[0];
    if (metricsPort !== undefined) {
        // The agent serves /metrics there; on every address of the pod, like Tile38's metrics
        // (the NetworkPolicy admits only the scrapers).
        env.push({ name: "BACKUP_METRICS_BIND", value: "0.0.0.0" }, { name: "BACKUP_METRICS_PORT", value: String(metricsPort) });
    }
    if (args.credentialsSecret) {
        const c = args.credentialsSecret;
        env.push(
            { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: c.name, key: c.accessKeyIdKey } } },
            { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: c.name, key: c.secretAccessKeyKey } } },
        );
    }
    return {
        name: BACKUP_SIDECAR_NAME,
        image: b.agentImage,
        command: ["bash", "-c", 'exec bash -c "$BACKUP_AGENT_SCRIPT" tile38-ha-backup-agent "$@"', "tile38-ha-backup-agent", "run"],
        env,
        ...(metricsPort !== undefined ? { ports: [{ name: BACKUP_METRICS_PORT_NAME, containerPort: metricsPort, protocol: "TCP" }] } : {}),
        volumeMounts: [
            { name: args.dataVolumeName, mountPath: dataDir },
            ...(args.tmpVolumeName ? [{ name: args.tmpVolumeName, mountPath: "/tmp" }] : []),
        ],
        resources: args.resources ?? { requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        securityContext: { ...containerSecurityContext(), readOnlyRootFilesystem: args.tmpVolumeName !== undefined },
    };
}
