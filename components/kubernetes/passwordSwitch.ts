import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfig } from "../../config/types";
import { OLD_PASSWORD_FILES, renderPasswordSwitchScript } from "../render/passwordSwitch";
import { Topology } from "../render/topology";
import { contentHash, CONFIG_HASH_ANNOTATION, containerSecurityContext, K8S_SECRET_KEYS, MOUNTS, objectLabels, objectMeta, objectNames, podScheduling, podSecurityContext } from "./common";

/** ConfigMap key of the switch script. */
export const PASSWORD_SWITCH_SCRIPT_KEY = "password-switch.sh";

/** Where the switch pod mounts the cluster Secret as deployed before the update (the old passwords). */
export const OLD_PASSWORDS_MOUNT = "/old-passwords";

/** Seconds the Job may run: every call of the script is bounded by a few seconds; 6 processes. */
export const PASSWORD_SWITCH_DEADLINE_SECONDS = 300;

/** The switch's ConfigMap: the rendered script only (no password: they come from the Secrets). */
export function buildPasswordSwitchConfigMapSpec(cfg: StackConfig, topo: Topology): k8s.core.v1.ConfigMapArgs {
    return {
        metadata: objectMeta(objectNames(cfg).passwordSwitch, cfg),
        data: { [PASSWORD_SWITCH_SCRIPT_KEY]: renderPasswordSwitchScript(topo, { oldPasswordsDir: OLD_PASSWORDS_MOUNT }) },
    };
}

/** Name of the new passwords' Secret of password generation `generation`. */
export function newPasswordsSecretName(cfg: StackConfig, generation: string): string {
    return `${objectNames(cfg).secret}-${generation}`;
}

/**
 * The Secret of the new passwords, named after their generation (a random id drawn anew exactly
 * when a password changes: nothing in it is derived from a password), so that its name, in the
 * Job's template, re-runs the Job then.
 */
export function buildNewPasswordsSecretSpec(cfg: StackConfig, generation: pulumi.Input<string>, tile38: pulumi.Input<string>, sentinel: pulumi.Input<string>): k8s.core.v1.SecretArgs {
    return {
        metadata: { ...objectMeta(objectNames(cfg).secret, cfg), name: pulumi.output(generation).apply((g) => newPasswordsSecretName(cfg, g)) },
        type: "Opaque",
        immutable: true,
        stringData: { [K8S_SECRET_KEYS.tile38Password]: pulumi.secret(tile38), [K8S_SECRET_KEYS.sentinelPassword]: pulumi.secret(sentinel) },
    };
}

/**
 * The switch Job: `password-switch.sh` in the sentinel image (sh, nc, timeout) against the pods'
 * stable names, the new passwords from `newSecretName`, the old ones from the cluster Secret as it
 * is still deployed (optional: a first deploy has none, and no process answers). One attempt
 * (`backoffLimit: 0`): a failure fails the `pulumi up`. Its pod carries `clientPodLabels`, which
 * the NetworkPolicies let in.
 */
export function buildPasswordSwitchJobSpec(cfg: StackConfig, script: string, newSecretName: pulumi.Input<string>): k8s.batch.v1.JobArgs {
    const names = objectNames(cfg);
    const { tolerations, nodeSelector, priorityClassName, imagePullSecrets } = podScheduling("sentinel", cfg);
    const newPassword = (name: string, key: string): k8s.types.input.core.v1.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: newSecretName, key } } });
    // The client labels last: they are what the NetworkPolicies let in.
    const labels = { ...objectLabels(undefined, cfg), "app.kubernetes.io/name": "password-switch", ...cfg.kubernetes.clientPodLabels };
    const meta = objectMeta(names.passwordSwitch, cfg);
    return {
        // A Job that failed is replaced by the next update instead of awaited again.
        metadata: { ...meta, labels, annotations: { ...(meta.annotations ?? {}), "pulumi.com/replaceUnready": "true" } },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: PASSWORD_SWITCH_DEADLINE_SECONDS,
            template: {
                metadata: { labels, annotations: { ...cfg.kubernetes.podAnnotations, [CONFIG_HASH_ANNOTATION]: contentHash(script) } },
                spec: {
                    restartPolicy: "Never",
                    serviceAccountName: names.sentinelServiceAccount,
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: podSecurityContext("sentinel"),
                    ...(tolerations ? { tolerations } : {}),
                    ...(nodeSelector ? { nodeSelector } : {}),
                    ...(priorityClassName ? { priorityClassName } : {}),
                    ...(imagePullSecrets ? { imagePullSecrets } : {}),
                    containers: [
                        {
                            name: "password-switch",
                            image: cfg.sentinel.image,
                            imagePullPolicy: "IfNotPresent",
                            command: ["sh", `${MOUNTS.scripts}/${PASSWORD_SWITCH_SCRIPT_KEY}`],
                            env: [newPassword("TILE38_PASSWORD", K8S_SECRET_KEYS.tile38Password), newPassword("SENTINEL_PASSWORD", K8S_SECRET_KEYS.sentinelPassword)],
                            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                            // A failure's log tail becomes the container's status, which pulumi-kubernetes reports.
                            terminationMessagePolicy: "FallbackToLogsOnError",
                            securityContext: containerSecurityContext(),
                            volumeMounts: [
                                { name: "scripts", mountPath: MOUNTS.scripts, readOnly: true },
                                { name: "old-passwords", mountPath: OLD_PASSWORDS_MOUNT, readOnly: true },
                            ],
                        },
                    ],
                    volumes: [
                        { name: "scripts", configMap: { name: names.passwordSwitch, defaultMode: 0o444 } },
                        {
                            name: "old-passwords",
                            secret: {
                                secretName: names.secret,
                                optional: true,
                                defaultMode: 0o400,
                                items: [
                                    { key: K8S_SECRET_KEYS.tile38Password, path: OLD_PASSWORD_FILES.tile38 },
                                    { key: K8S_SECRET_KEYS.sentinelPassword, path: OLD_PASSWORD_FILES.sentinel },
                                ],
                            },
                        },
                    ],
                },
            },
        },
    };
}

/** Arguments of {@link KubernetesPasswordSwitch}. */
export interface KubernetesPasswordSwitchArgs {
    /** The complete stack config (namespace, names, sentinel image, scheduling). */
    config: StackConfig;
    /** The Kubernetes topology (`kubernetesTopology(config)`): the pods' stable names. */
    topology: Topology;
    /** The Tile38 password the cluster must require (secret). */
    tile38Password: pulumi.Input<string>;
    /** The sentinel password the cluster must require (secret). */
    sentinelPassword: pulumi.Input<string>;
}

/**
 * The live password switch of a Kubernetes cluster: a Secret with the new passwords and a Job
 * that switches the running pods to them, re-run exactly when a password changes. Order it
 * before the cluster Secret (the Job reads the old passwords from it) and before the
 * StatefulSets (`dependsOn`); pulumi-kubernetes awaits the Job, and a failed one fails the
 * `pulumi up` before anything else changes. The Tile38 pods' template carries {@link generation}:
 * they roll onto the new passwords once every process accepts them.
 */
export class KubernetesPasswordSwitch extends pulumi.ComponentResource {
    readonly configMap: k8s.core.v1.ConfigMap;
    /** The passwords' generation: 8 hex digits, drawn anew when a password changes (its keepers, secret). */
    readonly generationId: random.RandomId;
    /** The new passwords (immutable; replaced under a new name when one changes). */
    readonly secret: k8s.core.v1.Secret;
    readonly job: k8s.batch.v1.Job;
    /** The passwords' generation (for pod templates: order those resources after this component with `dependsOn`). */
    readonly generation: pulumi.Output<string>;

    constructor(name: string, args: KubernetesPasswordSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:PasswordSwitch", name, {}, opts);
        const configMapSpec = buildPasswordSwitchConfigMapSpec(args.config, args.topology);
        this.configMap = new k8s.core.v1.ConfigMap(`${name}-script`, configMapSpec, { parent: this });
        this.generationId = new random.RandomId(
            `${name}-generation`,
            { byteLength: 4, keepers: { tile38: pulumi.secret(args.tile38Password), sentinel: pulumi.secret(args.sentinelPassword) } },
            { parent: this },
        );
        this.secret = new k8s.core.v1.Secret(`${name}-passwords`, buildNewPasswordsSecretSpec(args.config, this.generationId.hex, args.tile38Password, args.sentinelPassword), {
            parent: this,
            additionalSecretOutputs: ["data", "stringData"],
        });
        const script = (configMapSpec.data as Record<string, string>)[PASSWORD_SWITCH_SCRIPT_KEY];
        this.job = new k8s.batch.v1.Job(`${name}-job`, buildPasswordSwitchJobSpec(args.config, script, this.secret.metadata.name), {
            parent: this,
            dependsOn: [this.configMap],
            customTimeouts: { create: `${PASSWORD_SWITCH_DEADLINE_SECONDS + 60}s`, update: `${PASSWORD_SWITCH_DEADLINE_SECONDS + 60}s` },
        });
        // Not derived from the Job's outputs: a property that depends on the Job (replaced delete
        // first: its name is fixed) would have Pulumi replace the Tile38 StatefulSet with it, every
        // pod at once (seen in the deploy suite). The order comes from the options' dependsOn.
        this.generation = this.generationId.hex;
        this.registerOutputs({ job: this.job, secret: this.secret });
    }
}
