/**
 * The typed stack configuration of tile38-ha.
 *
 * Every stack file key lives in the `tile38-ha` namespace. The top-level keys are
 * `target`, `replicas`, `sentinels`, `quorum`, `masterName`, the secrets `tile38Password`,
 * `sentinelPassword`, `backupAccessKeyId`, `backupSecretAccessKey`, and the structured
 * sections `tile38`, `sentinel`, `docker`, `kubernetes` and `backup`.
 * `loadStackConfig` fills every default, so components receive a complete {@link StackConfig}.
 */

/*
 * Enumerations are `as const` objects with a type of the same name. The settings' fields that
 * take one are typed `string` (documented values, checked at parse time): Pulumi's schema
 * inference (`pulumi package add`) reads the published declarations, where a literal union has
 * no members to read, and would refuse the arguments.
 */

/** Where the cluster runs. */
export const Target = { Docker: "docker", Kubernetes: "kubernetes" } as const;
export type Target = (typeof Target)[keyof typeof Target];

/** Operating system of the machine that runs the Docker engine. */
export const DockerHostOs = { Linux: "linux", Darwin: "darwin", Windows: "windows" } as const;
export type DockerHostOs = (typeof DockerHostOs)[keyof typeof DockerHostOs];

/** Docker restart policy of the containers. */
export const RestartPolicy = { Always: "always", UnlessStopped: "unless-stopped", OnFailure: "on-failure" } as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

/** Where the AOF backups go: an S3 bucket (`aws`) or an S3-compatible container on the Docker host (`local`). */
export const BackupStore = { Aws: "aws", Local: "local" } as const;
export type BackupStore = (typeof BackupStore)[keyof typeof BackupStore];

/** Tile38 replica-set settings (stack key `tile38-ha:tile38`). */
export interface Tile38Settings {
    /**
     * Container image with an exact version tag and/or a digest, never `latest`.
     * Must be Tile38 ≥ 1.33.3 (`slave_repl_offset` in INFO, needed by Sentinel).
     * @default "tile38/tile38:1.37.0"
     */
    image: string;
    /**
     * Base TCP port. Docker (host networking): node `i` (0-based) listens on `port + i`
     * unless `ports` is given. Kubernetes: every pod listens on this port.
     * @default 9851
     */
    port: number;
    /**
     * Docker target only: explicit port of every node, one per replica, overriding `port`.
     * @default [port, port + 1, …]
     */
    ports?: number[];
    /**
     * Memory limit Tile38 enforces itself (its `maxmemory`, e.g. `"2gb"`, `"512mb"`); unset = unlimited.
     * @default undefined
     */
    maxMemory?: string;
    /**
     * Sentinel promotion priority of a caught-up follower (lower wins; 0 = never promoted).
     * Nodes that have not caught up always report 0 (see DESIGN: Tile38 #750).
     * @default 100
     */
    replicaPriority: number;
    /**
     * How long a starting node waits for an answer from the sentinels (and, if it must not
     * lead, for another leader) before it exits and lets the restart policy retry. Seconds.
     * @default 60
     */
    startupTimeoutSeconds: number;
    /**
     * Self-fencing bound: a leader that cannot get a majority of ALL the sentinels to confirm
     * that it leads (they do not answer, or name another node) for this long turns itself
     * read-only (`READONLY yes`), and writable again only once a majority names it again. It
     * bounds what a leader cut off from the sentinels (or frozen) acknowledges before the other
     * side promotes a follower, whose writes would otherwise be silently discarded when it
     * rejoins. Must be from 1000 to `sentinel.downAfterMilliseconds`. Milliseconds.
     * @default `sentinel.downAfterMilliseconds` − 1000, at least 1000 (2000 with the default 3000)
     */
    fenceAfterMilliseconds?: number;
    /**
     * AOF compaction: the leader rewrites its append-only file (Tile38 `AOFSHRINK`) once it is
     * more than this many times its size after the last compaction (and above
     * `aofCompactionMinMegabytes`), only while every follower is in sync and never during a
     * hand-over, a failover or a backup upload. Each follower then reloads the compacted file in
     * place, one at a time (a restart that loads it, no re-download). 0 turns compaction off;
     * otherwise at least 2. A ratio (AOF bytes over compacted bytes).
     * @default 2
     */
    aofCompactionRatio: number;
    /**
     * AOF compaction never runs while the AOF is smaller than this: rewriting a small file buys
     * little and costs every follower a reload. Megabytes (MiB, 1 to 1048576).
     * @default 64
     */
    aofCompactionMinMegabytes: number;
    /**
     * Port of Tile38's Prometheus metrics (`--metrics-addr`), bound like the node itself (Docker:
     * `docker.bindAddress`; Kubernetes: every address of the pod, admitted by the NetworkPolicy only from the pods `metrics.scraperNamespaceLabels` and `metrics.scraperPodLabels` select).
     * Docker: node `i` uses `metricsPort + i`. Off with `metrics.enabled: false`.
     * @default 4321
     */
    metricsPort: number;
}

/** Redis Sentinel trio settings (stack key `tile38-ha:sentinel`). */
export interface SentinelSettings {
    /**
     * Image that runs `redis-server --sentinel`, with an exact version. Sentinel must be ≥ 7.0.8
     * (hostname failover fixes). The default is BSD-licensed Redis 7.2.
     * @default "redis:7.2.12-alpine"
     */
    image: string;
    /**
     * Base TCP port. Docker: sentinel `i` listens on `port + i` unless `ports` is given.
     * Kubernetes: every sentinel pod listens on this port.
     * @default 5000
     */
    port: number;
    /** Docker target only: explicit port of every sentinel, overriding `port`. */
    ports?: number[];
    /**
     * Time a leader must be unreachable before a sentinel considers it down. Milliseconds.
     * @default 3000
     */
    downAfterMilliseconds: number;
    /**
     * How many followers resynchronise with a new leader at the same time.
     * @default 1
     */
    parallelSyncs: number;
    /**
     * Sentinel `failover-timeout`; must exceed `downAfterMilliseconds`. Milliseconds.
     * @default 18000
     */
    failoverTimeoutMilliseconds: number;
}

/** Docker target settings (stack key `tile38-ha:docker`). */
export interface DockerSettings {
    /**
     * Docker engine address (e.g. `unix:///var/run/docker.sock`, `ssh://user@host`).
     * Unset: the provider's default (`DOCKER_HOST` or the local socket).
     */
    host?: string;
    /**
     * Operating system of the machine that runs the Docker engine: `linux`, `darwin` or
     * `windows`. Host networking only works on a Linux engine, so any other value is refused.
     * @default the OS that runs `pulumi` (`process.platform`)
     */
    hostOs: string;
    /**
     * Address that Tile38 and the sentinels announce to each other and to clients.
     * Use the host's LAN address when clients run on other machines.
     * @default "127.0.0.1"
     */
    advertiseHost: string;
    /**
     * Address the processes listen on (host networking: an address of the host).
     * @default the value of `advertiseHost`
     */
    bindAddress: string;
    /**
     * Docker restart policy of every container: `always`, `unless-stopped` or `on-failure`.
     * @default "unless-stopped"
     */
    restartPolicy: string;
    /**
     * Prefix of container and volume names.
     * @default "tile38-ha-<stack>"; the component's name for a component created in a program
     */
    namePrefix: string;
    /**
     * How long a replaced container may take to become healthy (Tile38: serving and caught up
     * with its leader; sentinel: monitoring the leader with every peer known) before `pulumi up`
     * stops the rollout with an error and leaves the containers not yet replaced untouched.
     * Containers are replaced one at a time, each only after the one before it is healthy. Seconds.
     * @default 120
     */
    rolloutTimeoutSeconds: number;
}

/** CPU and memory of one container (Kubernetes quantities). */
export interface ResourceQuantities {
    /** CPU, e.g. `"250m"` or `"1"`. */
    cpu: string;
    /** Memory, e.g. `"512Mi"` or `"2Gi"`. */
    memory: string;
}

/** Resource requests and limits for one container (Kubernetes quantities). */
export interface ResourceSettings {
    /** Requested resources, e.g. `{ cpu: "250m", memory: "512Mi" }`. */
    requests: ResourceQuantities;
    /** Limits, e.g. `{ cpu: "1", memory: "2Gi" }`. */
    limits: ResourceQuantities;
}

/** A pod toleration (Kubernetes `core/v1` Toleration). */
export interface Toleration {
    /** Taint key; empty with `operator: Exists` tolerates every taint. */
    key?: string;
    /** `Equal` (default) or `Exists`. */
    operator?: string;
    /** Taint value (with `Equal`). */
    value?: string;
    /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`; unset = every effect. */
    effect?: string;
    /** With `NoExecute`: how long the pod stays bound after the taint appears. Seconds. */
    tolerationSeconds?: number;
}

/** Kubernetes target settings (stack key `tile38-ha:kubernetes`). */
export interface KubernetesSettings {
    /**
     * Namespace that holds every object.
     * @default "tile38"
     */
    namespace: string;
    /**
     * Create the namespace (`true`) or use an existing one (`false`).
     * @default true
     */
    createNamespace: boolean;
    /**
     * Path to a kubeconfig file; unset = the ambient one (`KUBECONFIG` or `~/.kube/config`).
     * @default undefined
     */
    kubeconfig?: string;
    /** kubeconfig context to use; unset = its current context. */
    context?: string;
    /**
     * Render manifests to this directory instead of applying them (GitOps);
     * maps to the provider's `renderYamlToDirectory`.
     */
    renderYamlToDirectory?: string;
    /**
     * Cluster DNS domain used to build the pods' FQDNs.
     * @default "cluster.local"
     */
    clusterDomain: string;
    /** StorageClass of the Tile38 volume claims; unset = the cluster default. */
    storageClass?: string;
    /**
     * Size of each Tile38 data volume (Kubernetes quantity).
     * @default "10Gi"
     */
    storageSize: string;
    /**
     * Size of each sentinel's data volume (Kubernetes quantity). It holds only the sentinel's own
     * `sentinel.conf` (its `myid` and epochs, which must survive restarts), so it can be as small
     * as the StorageClass allows (EBS volumes start at 1Gi).
     * @default "1Gi"
     */
    sentinelStorageSize: string;
    /**
     * Tile38 container resources.
     * @default requests 250m / 512Mi, limits 1 CPU / 2Gi
     */
    tile38Resources: ResourceSettings;
    /**
     * Sentinel container resources. The CPU limit is 1 CPU, not a fraction: the container also
     * runs the watchdog and the probes' `redis-cli`, and at 200m CFS throttled it for seconds
     * (measured on a real kubelet: 6 s in 5 min), long enough for the nodes' fence to find no
     * sentinel answering.
     * @default requests 50m / 64Mi, limits 1 CPU / 128Mi
     */
    sentinelResources: ResourceSettings;
    /** Annotations on the ServiceAccount (e.g. `eks.amazonaws.com/role-arn` for IRSA). */
    serviceAccountAnnotations: Record<string, string>;
    /**
     * Labels of client pods that may reach Tile38 and the sentinels (NetworkPolicy).
     * @default { "tile38-ha/client": "true" }
     */
    clientPodLabels: Record<string, string>;
    /**
     * Create NetworkPolicies that admit only clients, sentinels and peers.
     * @default true
     */
    networkPolicies: boolean;
    /**
     * Prefix of every object's name (StatefulSets, Services, ConfigMap, Secret, ServiceAccounts,
     * PodDisruptionBudgets, NetworkPolicies), so that two clusters can share a namespace. It is
     * part of every pod's DNS name, so changing it replaces the cluster.
     * @default "" from the stack config (objects `tile38`, `sentinel`, …); `"<component name>-"`
     *   for a component created in a program
     */
    namePrefix: string;
    /** Extra labels on every object and pod (the selectors keep their own labels). @default {} */
    labels: Record<string, string>;
    /** Extra annotations on every object. @default {} */
    annotations: Record<string, string>;
    /** Extra annotations on every pod. @default {} */
    podAnnotations: Record<string, string>;
    /** Tolerations of every pod (Tile38 and sentinels). @default [] */
    tolerations: Toleration[];
    /** Node selector of every pod. @default {} */
    nodeSelector: Record<string, string>;
    /** PriorityClass of every pod; unset = the cluster's default. */
    priorityClassName?: string;
    /** Secrets with registry credentials for the images. @default [] */
    imagePullSecrets: string[];
    /**
     * Affinity of the Tile38 pods (Kubernetes `core/v1` Affinity, as an object), replacing the
     * default: a preferred anti-affinity that spreads the pods over nodes (`kubernetes.io/hostname`).
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Kubernetes object (Pulumi schemas: Any)
    tile38Affinity?: Record<string, any>;
    /** Affinity of the sentinel pods, replacing the same default as `tile38Affinity`. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    sentinelAffinity?: Record<string, any>;
    /**
     * Topology spread constraints of every pod (Kubernetes `core/v1` TopologySpreadConstraint
     * objects); `labelSelector` may be left out: each pod's own selector labels are filled in.
     * @default []
     */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    topologySpreadConstraints: Record<string, any>[];
}

/** Where backups go (stack key `tile38-ha:backup`). */
export interface BackupSettings {
    /**
     * Upload AOF snapshots and restore them after a total loss.
     * @default true
     */
    enabled: boolean;
    /**
     * Seconds between two backup attempts (nothing is uploaded when nothing changed).
     * @default 300
     */
    intervalSeconds: number;
    /**
     * `aws`: an S3 bucket (needs the `@pulumi/aws` package). `local`: an S3-compatible server
     * container on the Docker host (Docker target only; `pulumi up` needs no cloud account).
     * @default "local" on Docker, "aws" on Kubernetes
     */
    store: string;
    /** Use this existing bucket instead of creating one. */
    existingBucket?: string;
    /**
     * Name prefix of the bucket created by the stack (AWS adds a random suffix).
     * @default "tile38-ha-<stack>-backups"; "<component name>-backups" in a program
     */
    bucketPrefix: string;
    /**
     * Key prefix of backups inside the bucket.
     * @default "tile38/<stack>/"; "tile38/<stack>/<component name>/" in a program
     */
    keyPrefix: string;
    /** AWS region of the bucket; unset = the provider's region. */
    region?: string;
    /** Custom S3 endpoint (MinIO and other S3-compatible stores). */
    endpoint?: string;
    /**
     * Expire backups after this many days.
     * @default 30
     */
    expireDays: number;
    /**
     * Expire noncurrent object versions after this many days.
     * @default 7
     */
    noncurrentExpireDays: number;
    /** KMS key ARN for default encryption; unset = SSE-S3 (AES256). */
    kmsKeyArn?: string;
    /**
     * Allow `pulumi destroy` to delete a bucket that still holds backups.
     * @default false
     */
    forceDestroy: boolean;
    /**
     * Tags on the bucket.
     * @default { project: "tile38-ha", stack } (and `component` for a component created in a program)
     */
    tags: Record<string, string>;
    /**
     * Kubernetes: ARN of the cluster's IAM OIDC provider, for the backup ServiceAccount's role (IRSA).
     */
    oidcProviderArn?: string;
    /** Kubernetes: issuer URL of that OIDC provider (without `https://`). */
    oidcProviderUrl?: string;
    /**
     * Local S3-compatible server (Docker `local` store): the Versity S3 gateway image with an
     * exact version (the same server the integration tests run).
     * @default "versity/versitygw:v1.8.0"
     */
    localImage: string;
    /**
     * Local S3-compatible server port (host networking).
     * @default 9000
     */
    localPort: number;
    /**
     * Image of the backup agent that runs next to every Tile38 node (bash + AWS CLI v2), with an
     * exact version. The default matches the AWS CLI version the integration tests run (Debian
     * bookworm's `awscli` 2.9.19), so the tested and the deployed CLI are the same.
     * @default "amazon/aws-cli:2.9.19"
     */
    agentImage: string;
    /**
     * How long an empty node that must restore waits for its backup agent to download, verify
     * and place the newest good backup before it gives up and exits (the restart policy then
     * retries). Seconds.
     * @default 600
     */
    restoreTimeoutSeconds: number;
}

/** Prometheus metrics of every process (stack key `tile38-ha:metrics`). */
export interface MetricsSettings {
    /**
     * Serve Prometheus metrics: Tile38's own (`tile38.metricsPort`), each sentinel's through
     * redis_exporter (`sentinelExporterPort`) and each backup agent's (`backupPort`, when backups
     * are on). Every endpoint binds like the service it belongs to.
     * @default true
     */
    enabled: boolean;
    /**
     * redis_exporter image that exports each sentinel's view (`redis_sentinel_*`), with an exact version.
     * @default "oliver006/redis_exporter:v1.74.0"
     */
    sentinelExporterImage: string;
    /**
     * Port of each sentinel's exporter. Docker: sentinel `i` uses `sentinelExporterPort + i`.
     * @default 9121
     */
    sentinelExporterPort: number;
    /**
     * Port of each backup agent's metrics (last good backup, duration, size, failures; the
     * node's read-only state). Docker: node `i`'s agent uses `backupPort + i`.
     * @default 9141
     */
    backupPort: number;
    /**
     * Kubernetes (with `kubernetes.networkPolicies`): labels of the namespaces whose pods may
     * scrape the metrics ports; the only way in to them. `{}` = every namespace.
     * @default { "kubernetes.io/metadata.name": "monitoring" }
     */
    scraperNamespaceLabels: Record<string, string>;
    /**
     * Kubernetes: labels of the scraping pods inside those namespaces; `{}` = any pod there.
     * @default {}
     */
    scraperPodLabels: Record<string, string>;
    /**
     * Kubernetes: create a `PodMonitor` (monitoring.coreos.com/v1, the Prometheus Operator's
     * CRD, which must be installed first) that scrapes every metrics port of the cluster's pods,
     * each series labelled `tile38_ha_component` (tile38, backup, sentinel), `tile38_ha_cluster`
     * (the component's name; `tile38-ha-<stack>` for the stack program) and `node` (the pod).
     * @default false
     */
    podMonitor: boolean;
    /**
     * Kubernetes: create a `PrometheusRule` (the Prometheus Operator's CRD, which must be
     * installed first) holding the shipped alert rules (`monitoring/tile38-ha.rules.yml`).
     * @default false
     */
    prometheusRule: boolean;
    /**
     * Kubernetes: labels on the PodMonitor and PrometheusRule (what the Prometheus Operator's
     * `podMonitorSelector` / `ruleSelector` match, e.g. `{ release: "prometheus" }`).
     * @default {}
     */
    monitorLabels: Record<string, string>;
}

/** The whole stack configuration with every default applied. */
export interface StackConfig {
    /**
     * Deployment target: `docker` (Linux, host networking) or `kubernetes`. Required in a stack
     * config; fixed by the component in a program.
     * @default (required)
     */
    target: Target;
    /**
     * Number of Tile38 nodes (1 leader + followers).
     * @default 3
     */
    replicas: number;
    /**
     * Number of sentinels; odd, so that a majority exists.
     * @default 3
     */
    sentinels: number;
    /**
     * Sentinels that must agree a leader is down; at least a majority, at most `sentinels`.
     * @default 2
     */
    quorum: number;
    /**
     * Name under which the sentinels monitor the replica set.
     * @default "mymaster"
     */
    masterName: string;
    /** Tile38 settings. */
    tile38: Tile38Settings;
    /** Sentinel settings. */
    sentinel: SentinelSettings;
    /** Docker target settings. */
    docker: DockerSettings;
    /** Kubernetes target settings. */
    kubernetes: KubernetesSettings;
    /** Backup settings. */
    backup: BackupSettings;
    /** Metrics settings. */
    metrics: MetricsSettings;
}
