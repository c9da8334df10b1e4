/**
 * The shape of every stack config key: what kind of value it takes. The parser uses it to
 * coerce raw stack values (strings or YAML objects) and to name unknown or malformed keys.
 */

/** A field's kind. Enums list their allowed values. */
export type FieldKind =
    | { kind: "int" }
    | { kind: "string" }
    | { kind: "bool" }
    | { kind: "intArray" }
    | { kind: "stringMap" }
    | { kind: "resources" }
    | { kind: "stringArray" }
    | { kind: "object" }
    | { kind: "objectArray" }
    | { kind: "enum"; values: readonly string[] };

const int: FieldKind = { kind: "int" };
const str: FieldKind = { kind: "string" };
const bool: FieldKind = { kind: "bool" };
const oneOf = (...values: string[]): FieldKind => ({ kind: "enum", values });

/** Top-level scalar keys (`tile38-ha:<key>`). */
export const TOP_LEVEL_FIELDS = {
    target: oneOf("docker", "kubernetes"),
    replicas: int,
    sentinels: int,
    quorum: int,
    masterName: str,
} as const;

/** Structured sections (`tile38-ha:<section>` holds an object) and their fields. */
export const SECTION_FIELDS = {
    tile38: {
        image: str,
        port: int,
        ports: { kind: "intArray" },
        fenceAfterMilliseconds: int,
        aofCompactionRatio: int,
        aofCompactionMinMegabytes: int,
        maxMemory: str,
        replicaPriority: int,
        startupTimeoutSeconds: int,
        metricsPort: int,
    },
    sentinel: {
        image: str,
        port: int,
        ports: { kind: "intArray" },
        downAfterMilliseconds: int,
        parallelSyncs: int,
        failoverTimeoutMilliseconds: int,
    },
    docker: {
        host: str,
        hostOs: oneOf("linux", "darwin", "windows"),
        advertiseHost: str,
        bindAddress: str,
        restartPolicy: oneOf("always", "unless-stopped", "on-failure"),
        namePrefix: str,
        rolloutTimeoutSeconds: int,
    },
    kubernetes: {
        namespace: str,
        createNamespace: bool,
        kubeconfig: str,
        context: str,
        renderYamlToDirectory: str,
        clusterDomain: str,
        storageClass: str,
        storageSize: str,
        sentinelStorageSize: str,
        tile38Resources: { kind: "resources" },
        sentinelResources: { kind: "resources" },
        serviceAccountAnnotations: { kind: "stringMap" },
        clientPodLabels: { kind: "stringMap" },
        networkPolicies: bool,
        namePrefix: str,
        labels: { kind: "stringMap" },
        annotations: { kind: "stringMap" },
        podAnnotations: { kind: "stringMap" },
        tolerations: { kind: "objectArray" },
        nodeSelector: { kind: "stringMap" },
        priorityClassName: str,
        imagePullSecrets: { kind: "stringArray" },
        tile38Affinity: { kind: "object" },
        sentinelAffinity: { kind: "object" },
        topologySpreadConstraints: { kind: "objectArray" },
    },
    backup: {
        enabled: bool,
        intervalSeconds: int,
        store: oneOf("aws", "local"),
        existingBucket: str,
        bucketPrefix: str,
        keyPrefix: str,
        region: str,
        endpoint: str,
        expireDays: int,
        noncurrentExpireDays: int,
        kmsKeyArn: str,
        forceDestroy: bool,
        tags: { kind: "stringMap" },
        oidcProviderArn: str,
        oidcProviderUrl: str,
        localImage: str,
        localPort: int,
        agentImage: str,
        restoreTimeoutSeconds: int,
    },
    metrics: {
        enabled: bool,
        sentinelExporterImage: str,
        sentinelExporterPort: int,
        backupPort: int,
        scraperNamespaceLabels: { kind: "stringMap" },
        scraperPodLabels: { kind: "stringMap" },
        podMonitor: bool,
        prometheusRule: bool,
        monitorLabels: { kind: "stringMap" },
    },
} as const satisfies Record<string, Record<string, FieldKind>>;

/** Secret keys: read with `requireSecret`/`getSecret`, never in plain text. */
export const SECRET_KEYS = ["tile38Password", "sentinelPassword", "backupAccessKeyId", "backupSecretAccessKey"] as const;

export type SecretKey = (typeof SECRET_KEYS)[number];
export type SectionName = keyof typeof SECTION_FIELDS;
