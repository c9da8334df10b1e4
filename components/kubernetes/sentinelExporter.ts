/**
 * The sentinels' Prometheus exporter: redis_exporter as a sidecar of every sentinel pod, exporting
 * that pod's own sentinel (its view of the leader, replicas, peers, quorum: `redis_sentinel_*`).
 * Pure: returns a plain container spec.
 */
import * as k8s from "@pulumi/kubernetes";
import { StackConfig } from "../../config/types";
import { sentinelExporterPorts } from "../../config/validate";
import { containerSecurityContext, K8S_SECRET_KEYS, secretEnv } from "./common";

/** Name of the exporter container and of its container port (what a PodMonitor scrapes). */
export const SENTINEL_EXPORTER_NAME = "exporter";

/**
 * The exporter's resources. Fixed rather than a setting: it answers one scrape at a time with a
 * few small commands to one sentinel, and these bounds leave it ample room.
 */
export const SENTINEL_EXPORTER_RESOURCES = {
    requests: { cpu: "10m", memory: "32Mi" },
    limits: { cpu: "200m", memory: "64Mi" },
} as const;

/**
 * The exporter container of the sentinel pods, or undefined with `metrics.enabled` false. It
 * dials its own sentinel over the pod's loopback by name (the sentinel listens on every address
 * of the pod), so nothing depends on the pod's IP; the sentinel password comes from the cluster's
 * Secret through `REDIS_PASSWORD`, never in the arguments (they show in `ps` and the pod spec).
 */
export function sentinelExporterContainer(cfg: StackConfig): k8s.types.input.core.v1.Container | undefined {
    const port = sentinelExporterPorts(cfg)[0];
    if (port === undefined) return undefined;
    return {
        name: SENTINEL_EXPORTER_NAME,
        image: cfg.metrics.sentinelExporterImage,
        imagePullPolicy: "IfNotPresent",
        // The image's entrypoint is the exporter itself.
        args: [`--redis.addr=redis://localhost:${cfg.sentinel.port}`, `--web.listen-address=:${port}`],
        env: [secretEnv("REDIS_PASSWORD", K8S_SECRET_KEYS.sentinelPassword, cfg)],
        ports: [{ name: SENTINEL_EXPORTER_NAME, containerPort: port, protocol: "TCP" }],
        resources: { requests: { ...SENTINEL_EXPORTER_RESOURCES.requests }, limits: { ...SENTINEL_EXPORTER_RESOURCES.limits } },
        readinessProbe: { httpGet: { path: "/health", port: SENTINEL_EXPORTER_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        securityContext: containerSecurityContext(),
    };
}
