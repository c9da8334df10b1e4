/**
 * The configuration described once: every stack config key with its kind (how the parser
 * coerces and checks it), its TypeScript type, its default, its unit, its simple checks and its
 * documentation. From it come the settings interfaces of config/types.ts (generated, and checked
 * against the types inferred from here by config/inferredTypes.ts), `defaultConfig`, the
 * parser's coercion and docs/configuration.md's reference table (`npm run docs:config`).
 */
import { bool, Field, int, intArray, kubernetesObject, kubernetesObjects, oneOf, resources, str, stringArray, stringMap } from "./field";
import { DEFAULT_IMAGES } from "./images";
import { hostOsFromPlatform } from "./platform";
import type { ResourceSettings, Target, Toleration } from "./types";

export type { FieldKind } from "./field";

/** Top-level scalar keys (`tile38-ha:<key>`). */
export const TOP_LEVEL_FIELDS = {
    target: oneOf<Target>("docker", "kubernetes")({
        doc: "Deployment target: `docker` (Linux, host networking) or `kubernetes`. Required in a stack config; fixed by the component in a program.",
        required: true,
        defaultText: "(required)",
        tsType: "Target",
    }),
    replicas: int({ doc: "Number of Tile38 nodes (1 leader + followers).", default: 3 }),
    sentinels: int({ doc: "Number of sentinels; odd, so that a majority exists.", default: 3 }),
    quorum: int({ doc: "Sentinels that must agree a leader is down; at least a majority, at most `sentinels`.", default: 2 }),
    masterName: str({ doc: "Name under which the sentinels monitor the replica set.", default: "mymaster" }),
} as const;

/** Structured sections (`tile38-ha:<section>` holds an object) and their fields. */
export const SECTION_FIELDS = {
    tile38: {
        image: str({
            doc: "Container image with an exact version tag and/or a digest, never `latest`. Must be Tile38 ≥ 1.33.3 (`slave_repl_offset` in INFO, needed by Sentinel).",
            default: DEFAULT_IMAGES.tile38,
        }),
        port: int({
            doc: "Base TCP port. Docker (host networking): node `i` (0-based) listens on `port + i` unless `ports` is given. Kubernetes: every pod listens on this port.",
            default: 9851,
        }),
        ports: intArray({ doc: "Docker target only: explicit port of every node, one per replica, overriding `port`.", defaultText: "[port, port + 1, …]" }),
        fenceAfterMilliseconds: int({
            doc:
                "Self-fencing bound: a leader that cannot get a majority of ALL the sentinels to confirm that it leads (they do not answer, or name another node) for this long turns itself read-only (`READONLY yes`), and writable again only once a majority names it again. " +
                "It bounds what a leader cut off from the sentinels (or frozen) acknowledges before the other side promotes a follower, whose writes would otherwise be silently discarded when it rejoins. Must be from 1000 to `sentinel.downAfterMilliseconds`.",
            // Computed where it is used (components/render/topology.ts), from the validated down-after.
            defaultText: "`sentinel.downAfterMilliseconds` − 1000, at least 1000 (2000 with the default 3000)",
            unit: "milliseconds",
        }),
        aofCompactionRatio: int({
            doc:
                "AOF compaction: the AOF is kept below this many times its size after the last compaction (once above `aofCompactionMinMegabytes`): the leader rewrites its append-only file (Tile38 `AOFSHRINK`) early enough that what is written until the rewrite ends still fits, aiming at 90 % of the bound (from the AOF's growth per node step, about a second, and how many steps its last rewrite took), " +
                "only while every follower is in sync and never during a hand-over, a failover or a backup upload. Each follower then reloads the compacted file in place, one at a time (a restart that loads it, no re-download). " +
                "0 turns compaction off; otherwise at least 2 (2, the default, is the tested value). After a compaction every follower fetches the compacted file and is not promotable until it has caught up (docs/operations.md, \"AOF compaction\"). A ratio (AOF bytes over compacted bytes).",
            default: 2,
        }),
        aofCompactionMinMegabytes: int({
            doc: "AOF compaction never runs while the AOF is smaller than this: rewriting a small file buys little and costs every follower a reload. 1 to 1048576.",
            default: 64,
            unit: "megabytes (MiB)",
        }),
        maxMemory: str({ doc: "Memory limit Tile38 enforces itself (its `maxmemory`, e.g. `\"2gb\"`, `\"512mb\"`); unset = unlimited." }),
        replicaPriority: int({
            doc: "Sentinel promotion priority of a caught-up follower (lower wins; 0 = never promoted). Nodes that have not caught up always report 0 (see DESIGN: Tile38 #750).",
            default: 100,
        }),
        startupTimeoutSeconds: int({
            doc: "How long a starting node waits for an answer from the sentinels (and, if it must not lead, for another leader) before it exits and lets the restart policy retry.",
            default: 60,
            unit: "seconds",
            positive: true,
        }),
        metricsPort: int({
            doc:
                "Port of Tile38's Prometheus metrics (`--metrics-addr`), bound like the node itself (Docker: `docker.bindAddress`; Kubernetes: every address of the pod, admitted by the NetworkPolicy only from the pods `metrics.scraperNamespaceLabels` and `metrics.scraperPodLabels` select). " +
                "Docker: node `i` uses `metricsPort + i`. Off with `metrics.enabled: false`.",
            default: 4321,
        }),
    },
    sentinel: {
        image: str({
            doc: "Image that runs `redis-server --sentinel`, with an exact version. Sentinel must be ≥ 7.0.8 (hostname failover fixes). The default is BSD-licensed Redis 7.2.",
            default: DEFAULT_IMAGES.sentinel,
        }),
        port: int({
            doc: "Base TCP port. Docker: sentinel `i` listens on `port + i` unless `ports` is given. Kubernetes: every sentinel pod listens on this port.",
            default: 5000,
        }),
        ports: intArray({ doc: "Docker target only: explicit port of every sentinel, overriding `port`.", defaultText: "[port, port + 1, …]" }),
        downAfterMilliseconds: int({ doc: "Time a leader must be unreachable before a sentinel considers it down.", default: 3000, unit: "milliseconds", positive: true }),
        parallelSyncs: int({ doc: "How many followers resynchronise with a new leader at the same time.", default: 1, positive: true }),
        failoverTimeoutMilliseconds: int({ doc: "Sentinel `failover-timeout`; must exceed `downAfterMilliseconds`.", default: 18000, unit: "milliseconds", positive: true }),
    },
    docker: {
        host: str({
            doc: "Docker engine address (e.g. `unix:///var/run/docker.sock`, `ssh://user@host`).",
            defaultText: "the provider's default (`DOCKER_HOST` or the local socket)",
        }),
        hostOs: oneOf("linux", "darwin", "windows")({
            doc: "Operating system of the machine that runs the Docker engine: `linux`, `darwin` or `windows`. Host networking only works on a Linux engine, so any other value is refused.",
            default: (ctx) => hostOsFromPlatform(ctx.platform),
            defaultText: "the OS that runs `pulumi` (`process.platform`)",
        }),
        advertiseHost: str({
            doc: "Address that Tile38 and the sentinels announce to each other and to clients. Use the host's LAN address when clients run on other machines.",
            default: "127.0.0.1",
        }),
        // The parser makes it follow an explicit advertiseHost (config/parse.ts).
        bindAddress: str({ doc: "Address the processes listen on (host networking: an address of the host).", default: "127.0.0.1", defaultText: "the value of `advertiseHost`" }),
        restartPolicy: oneOf("always", "unless-stopped", "on-failure")({
            doc: "Docker restart policy of every container: `always`, `unless-stopped` or `on-failure`.",
            default: "unless-stopped",
        }),
        namePrefix: str({
            doc: "Prefix of container and volume names.",
            default: (ctx) => ctx.name,
            defaultText: "\"tile38-ha-<stack>\"; the component's name for a component created in a program",
        }),
        rolloutTimeoutSeconds: int({
            doc:
                "How long a replaced container may take to become healthy (Tile38: serving and caught up with its leader; sentinel: monitoring the leader with every peer known) before `pulumi up` stops the rollout with an error and leaves the containers not yet replaced untouched. " +
                "Containers are replaced one at a time, each only after the one before it is healthy.",
            default: 120,
            unit: "seconds",
            positive: true,
        }),
    },
    kubernetes: {
        namespace: str({ doc: "Namespace that holds every object.", default: "tile38" }),
        createNamespace: bool({ doc: "Create the namespace (`true`) or use an existing one (`false`).", default: true }),
        kubeconfig: str({ doc: "Path to a kubeconfig file.", defaultText: "the ambient one (`KUBECONFIG` or `~/.kube/config`)" }),
        context: str({ doc: "kubeconfig context to use.", defaultText: "its current context" }),
        renderYamlToDirectory: str({ doc: "Render manifests to this directory instead of applying them (GitOps); maps to the provider's `renderYamlToDirectory`." }),
        clusterDomain: str({ doc: "Cluster DNS domain used to build the pods' FQDNs.", default: "cluster.local" }),
        storageClass: str({ doc: "StorageClass of the Tile38 volume claims.", defaultText: "the cluster default" }),
        storageSize: str({ doc: "Size of each Tile38 data volume (Kubernetes quantity).", default: "10Gi" }),
        sentinelStorageSize: str({
            doc: "Size of each sentinel's data volume (Kubernetes quantity). It holds only the sentinel's own `sentinel.conf` (its `myid` and epochs, which must survive restarts), so it can be as small as the StorageClass allows (EBS volumes start at 1Gi).",
            default: "1Gi",
        }),
        tile38Resources: resources<ResourceSettings>()({
            doc: "Tile38 container resources.",
            default: { requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "2Gi" } },
            defaultText: "requests 250m / 512Mi, limits 1 CPU / 2Gi",
        }),
        sentinelResources: resources<ResourceSettings>()({
            doc:
                "Sentinel container resources. The CPU limit is 1 CPU, not a fraction: the container also runs the watchdog and the probes' `redis-cli`, and at 200m CFS throttled it for seconds " +
                "(measured on a real kubelet: 6 s in 5 min), long enough for the nodes' fence to find no sentinel answering.",
            default: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } },
            defaultText: "requests 50m / 64Mi, limits 1 CPU / 128Mi",
        }),
        serviceAccountAnnotations: stringMap({ doc: "Annotations on the ServiceAccount (e.g. `eks.amazonaws.com/role-arn` for IRSA).", default: {} }),
        clientPodLabels: stringMap({ doc: "Labels of client pods that may reach Tile38 and the sentinels (NetworkPolicy).", default: { "tile38-ha/client": "true" } }),
        networkPolicies: bool({ doc: "Create NetworkPolicies that admit only clients, sentinels and peers.", default: true }),
        namePrefix: str({
            doc:
                "Prefix of every object's name (StatefulSets, Services, ConfigMap, Secret, ServiceAccounts, PodDisruptionBudgets, NetworkPolicies), so that two clusters can share a namespace. " +
                "It is part of every pod's DNS name, so changing it replaces the cluster.",
            default: (ctx) => (ctx.component === undefined ? "" : `${ctx.component}-`),
            defaultText: "\"\" from the stack config (objects `tile38`, `sentinel`, …); `\"<component name>-\"` for a component created in a program",
        }),
        labels: stringMap({ doc: "Extra labels on every object and pod (the selectors keep their own labels).", default: {} }),
        annotations: stringMap({ doc: "Extra annotations on every object.", default: {} }),
        podAnnotations: stringMap({ doc: "Extra annotations on every pod.", default: {} }),
        tolerations: kubernetesObjects<Toleration>()({ doc: "Tolerations of every pod (Tile38 and sentinels).", default: [], tsType: "Toleration[]" }),
        nodeSelector: stringMap({ doc: "Node selector of every pod.", default: {} }),
        priorityClassName: str({ doc: "PriorityClass of every pod.", defaultText: "the cluster's default" }),
        imagePullSecrets: stringArray({ doc: "Secrets with registry credentials for the images.", default: [] }),
        tile38Affinity: kubernetesObject()({
            doc: "Affinity of the Tile38 pods (Kubernetes `core/v1` Affinity, as an object), replacing the default: a preferred anti-affinity that spreads the pods over nodes (`kubernetes.io/hostname`).",
        }),
        sentinelAffinity: kubernetesObject()({ doc: "Affinity of the sentinel pods, replacing the same default as `tile38Affinity`." }),
        topologySpreadConstraints: kubernetesObjects()({
            doc: "Topology spread constraints of every pod (Kubernetes `core/v1` TopologySpreadConstraint objects); `labelSelector` may be left out: each pod's own selector labels are filled in.",
            default: [],
        }),
    },
    backup: {
        enabled: bool({ doc: "Upload AOF snapshots and restore them after a total loss.", default: true }),
        intervalSeconds: int({ doc: "Time between two backup attempts (nothing is uploaded when nothing changed).", default: 300, unit: "seconds", positive: true }),
        store: oneOf("aws", "local")({
            doc: "`aws`: an S3 bucket (needs the `@pulumi/aws` package). `local`: an S3-compatible server container on the Docker host (Docker target only; `pulumi up` needs no cloud account).",
            default: (ctx) => (ctx.target === "docker" ? "local" : "aws"),
            defaultText: "\"local\" on Docker, \"aws\" on Kubernetes",
        }),
        existingBucket: str({ doc: "Use this existing bucket instead of creating one." }),
        bucketPrefix: str({
            doc: "Name prefix of the bucket created by the stack (AWS adds a random suffix).",
            default: (ctx) => `${ctx.name}-backups`,
            defaultText: "\"tile38-ha-<stack>-backups\"; \"<component name>-backups\" in a program",
        }),
        keyPrefix: str({
            doc: "Key prefix of backups inside the bucket.",
            default: (ctx) => (ctx.component === undefined ? `tile38/${ctx.stack}/` : `tile38/${ctx.stack}/${ctx.component}/`),
            defaultText: "\"tile38/<stack>/\"; \"tile38/<stack>/<component name>/\" in a program",
        }),
        region: str({ doc: "AWS region of the bucket.", defaultText: "the provider's region" }),
        endpoint: str({ doc: "Custom S3 endpoint (MinIO and other S3-compatible stores)." }),
        expireDays: int({ doc: "Expire backups after this many days.", default: 30, unit: "days", positive: true }),
        noncurrentExpireDays: int({ doc: "Expire noncurrent object versions after this many days.", default: 7, unit: "days", positive: true }),
        kmsKeyArn: str({ doc: "KMS key ARN for default encryption.", defaultText: "SSE-S3 (AES256)" }),
        forceDestroy: bool({ doc: "Allow `pulumi destroy` to delete a bucket that still holds backups.", default: false }),
        tags: stringMap({
            doc: "Tags on the bucket.",
            default: (ctx) => ({ project: "tile38-ha", stack: ctx.stack, ...(ctx.component === undefined ? {} : { component: ctx.component }) }),
            defaultText: "{ project: \"tile38-ha\", stack } (and `component` for a component created in a program)",
        }),
        oidcProviderArn: str({ doc: "Kubernetes: ARN of the cluster's IAM OIDC provider, for the backup ServiceAccount's role (IRSA)." }),
        oidcProviderUrl: str({ doc: "Kubernetes: issuer URL of that OIDC provider (without `https://`)." }),
        localImage: str({
            doc: "Local S3-compatible server (Docker `local` store): the Versity S3 gateway image with an exact version (the same server the integration tests run).",
            default: DEFAULT_IMAGES.localS3,
        }),
        localPort: int({ doc: "Local S3-compatible server port (host networking).", default: 9000 }),
        agentImage: str({
            doc:
                "Image of the backup agent that runs next to every Tile38 node (bash + AWS CLI v2), with an exact version. " +
                "The default matches the AWS CLI version the integration tests run (Debian bookworm's `awscli` 2.9.19), so the tested and the deployed CLI are the same.",
            default: DEFAULT_IMAGES.backupAgent,
        }),
        restoreTimeoutSeconds: int({
            doc: "How long an empty node that must restore waits for its backup agent to download, verify and place the newest good backup before it gives up and exits (the restart policy then retries).",
            default: 600,
            unit: "seconds",
            positive: true,
        }),
    },
    metrics: {
        enabled: bool({
            doc:
                "Serve Prometheus metrics: Tile38's own (`tile38.metricsPort`), each sentinel's through redis_exporter (`sentinelExporterPort`) and each backup agent's (`backupPort`, when backups are on). " +
                "Every endpoint binds like the service it belongs to.",
            default: true,
        }),
        sentinelExporterImage: str({ doc: "redis_exporter image that exports each sentinel's view (`redis_sentinel_*`), with an exact version.", default: DEFAULT_IMAGES.sentinelExporter }),
        sentinelExporterPort: int({ doc: "Port of each sentinel's exporter. Docker: sentinel `i` uses `sentinelExporterPort + i`.", default: 9121 }),
        backupPort: int({
            doc: "Port of each backup agent's metrics (last good backup, duration, size, failures; the node's read-only state). Docker: node `i`'s agent uses `backupPort + i`.",
            default: 9141,
        }),
        scraperNamespaceLabels: stringMap({
            doc: "Kubernetes (with `kubernetes.networkPolicies`): labels of the namespaces whose pods may scrape the metrics ports; the only way in to them. `{}` = every namespace.",
            default: { "kubernetes.io/metadata.name": "monitoring" },
        }),
        scraperPodLabels: stringMap({ doc: "Kubernetes: labels of the scraping pods inside those namespaces; `{}` = any pod there.", default: {} }),
        podMonitor: bool({
            doc:
                "Kubernetes: create a `PodMonitor` (monitoring.coreos.com/v1, the Prometheus Operator's CRD, which must be installed first) that scrapes every metrics port of the cluster's pods, " +
                "each series labelled `tile38_ha_component` (tile38, backup, sentinel), `tile38_ha_cluster` (the component's name; `tile38-ha-<stack>` for the stack program) and `node` (the pod).",
            default: false,
        }),
        prometheusRule: bool({
            doc: "Kubernetes: create a `PrometheusRule` (the Prometheus Operator's CRD, which must be installed first) holding the shipped alert rules (`monitoring/tile38-ha.rules.yml`).",
            default: false,
        }),
        monitorLabels: stringMap({
            doc: "Kubernetes: labels on the PodMonitor and PrometheusRule (what the Prometheus Operator's `podMonitorSelector` / `ruleSelector` match, e.g. `{ release: \"prometheus\" }`).",
            default: {},
        }),
    },
} as const satisfies Record<string, Record<string, Field>>;

export type SectionName = keyof typeof SECTION_FIELDS;

/** Each section's interface (config/types.ts) and how the interface and `StackConfig` describe it. */
export const SECTION_TYPES: Record<SectionName, { name: string; doc: string; summary: string }> = {
    tile38: { name: "Tile38Settings", doc: "Tile38 replica-set settings (stack key `tile38-ha:tile38`).", summary: "Tile38 settings." },
    sentinel: { name: "SentinelSettings", doc: "Redis Sentinel trio settings (stack key `tile38-ha:sentinel`).", summary: "Sentinel settings." },
    docker: { name: "DockerSettings", doc: "Docker target settings (stack key `tile38-ha:docker`).", summary: "Docker target settings." },
    kubernetes: { name: "KubernetesSettings", doc: "Kubernetes target settings (stack key `tile38-ha:kubernetes`).", summary: "Kubernetes target settings." },
    backup: { name: "BackupSettings", doc: "Where backups go (stack key `tile38-ha:backup`).", summary: "Backup settings." },
    metrics: { name: "MetricsSettings", doc: "Prometheus metrics of every process (stack key `tile38-ha:metrics`).", summary: "Metrics settings." },
};

/** Secret keys: read with `requireSecret`/`getSecret`, never in plain text (documented on `ClusterArgs`). */
export const SECRET_KEYS = ["tile38Password", "sentinelPassword", "backupAccessKeyId", "backupSecretAccessKey"] as const;

export type SecretKey = (typeof SECRET_KEYS)[number];
