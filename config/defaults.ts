import { DockerHostOs, StackConfig, Target } from "./types";

/** Pinned images. Change them here (or per stack) and nowhere else. */
export const DEFAULT_IMAGES = {
    tile38: "tile38/tile38:1.37.0",
    /** Redis 7.2.x is the newest BSD-licensed Redis line and has every Sentinel hostname fix (≥ 7.0.8). */
    sentinel: "redis:7.2.12-alpine",
    localS3: "versity/versitygw:v1.8.0",
    /** Same AWS CLI version as Debian bookworm's `awscli`, which the integration tests run. */
    backupAgent: "amazon/aws-cli:2.9.19",
    /** The sentinels' exporter; the deploy suites build the same version from the Go module proxy. */
    sentinelExporter: "oliver006/redis_exporter:v1.74.0",
} as const;

/** Maps Node's `process.platform` to the Docker host OS names the config uses. */
export function hostOsFromPlatform(platform: string): DockerHostOs {
    switch (platform) {
        case "darwin":
            return "darwin";
        case "win32":
            return "windows";
        default:
            return "linux";
    }
}

/**
 * The complete defaults for a stack. `stack` names volumes, containers and the bucket;
 * `platform` is where `pulumi` runs (the Docker host unless `docker.hostOs` says otherwise).
 * A component created in a program (`component`: its name) names them after itself instead, and
 * prefixes its Kubernetes objects, so that two clusters share a stack or a namespace.
 */
export function defaultConfig(stack: string, target: Target, platform: string, component?: string): StackConfig {
    const name = component ?? `tile38-ha-${stack}`;
    return {
        target,
        replicas: 3,
        sentinels: 3,
        quorum: 2,
        masterName: "mymaster",
        tile38: {
            image: DEFAULT_IMAGES.tile38,
            port: 9851,
            replicaPriority: 100,
            startupTimeoutSeconds: 60,
            aofCompactionRatio: 2,
            aofCompactionMinMegabytes: 64,
            metricsPort: 4321,
        },
        sentinel: {
            image: DEFAULT_IMAGES.sentinel,
            port: 5000,
            downAfterMilliseconds: 3000,
            parallelSyncs: 1,
            failoverTimeoutMilliseconds: 18000,
        },
        docker: {
            hostOs: hostOsFromPlatform(platform),
            advertiseHost: "127.0.0.1",
            bindAddress: "127.0.0.1",
            restartPolicy: "unless-stopped",
            namePrefix: name,
            rolloutTimeoutSeconds: 120,
        },
        kubernetes: {
            namespace: "tile38",
            createNamespace: true,
            clusterDomain: "cluster.local",
            storageSize: "10Gi",
            sentinelStorageSize: "1Gi",
            tile38Resources: {
                requests: { cpu: "250m", memory: "512Mi" },
                limits: { cpu: "1", memory: "2Gi" },
            },
            sentinelResources: {
                requests: { cpu: "50m", memory: "64Mi" },
                limits: { cpu: "1", memory: "128Mi" },
            },
            serviceAccountAnnotations: {},
            clientPodLabels: { "tile38-ha/client": "true" },
            networkPolicies: true,
            namePrefix: component === undefined ? "" : `${component}-`,
            labels: {},
            annotations: {},
            podAnnotations: {},
            tolerations: [],
            nodeSelector: {},
            imagePullSecrets: [],
            topologySpreadConstraints: [],
        },
        backup: {
            enabled: true,
            intervalSeconds: 300,
            store: target === "docker" ? "local" : "aws",
            bucketPrefix: `${name}-backups`,
            keyPrefix: component === undefined ? `tile38/${stack}/` : `tile38/${stack}/${component}/`,
            expireDays: 30,
            noncurrentExpireDays: 7,
            forceDestroy: false,
            tags: { project: "tile38-ha", stack, ...(component === undefined ? {} : { component }) },
            localImage: DEFAULT_IMAGES.localS3,
            localPort: 9000,
            agentImage: DEFAULT_IMAGES.backupAgent,
            restoreTimeoutSeconds: 600,
        },
        metrics: {
            enabled: true,
            sentinelExporterImage: DEFAULT_IMAGES.sentinelExporter,
            sentinelExporterPort: 9121,
            backupPort: 9141,
            scraperNamespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
            scraperPodLabels: {},
            podMonitor: false,
            prometheusRule: false,
            monitorLabels: {},
        },
    };
}
