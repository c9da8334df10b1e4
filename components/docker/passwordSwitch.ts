import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { renderPasswordSwitchScript } from "../render/passwordSwitch";
import { dockerTopology } from "../render/topology";
import { SCRIPT_DIR, scriptEntrypoint, secretEnvs } from "./containerSpec";

/** Arguments of {@link DockerPasswordSwitch}. */
export interface DockerPasswordSwitchArgs {
    /** The validated stack config (`target: docker`). */
    config: StackConfig;
    /** Image ID of the sentinel image (its shell, `nc` and `timeout` run the switch). */
    imageId: pulumi.Input<string>;
    /** The Tile38 password the cluster must require (secret). */
    tile38Password: pulumi.Input<string>;
    /** The sentinel password the cluster must require (secret). */
    sentinelPassword: pulumi.Input<string>;
    /** The Tile38 nodes' data volumes, node 1 first (mounted read-only: their `config` holds the password in force). */
    nodeVolumes: docker.Volume[];
    /** The sentinels' data volumes, sentinel 1 first (read-only: their `sentinel.conf`). */
    sentinelVolumes: docker.Volume[];
}

/** Where a volume of the switch container is mounted: `/volumes/<volume name>`. */
export function switchMountPath(volumeName: string): string {
    return `/volumes/${volumeName}`;
}

/**
 * Why the switch container's exit code stops the `pulumi up`, or undefined for success (0). Its
 * log lines (no password ever reaches them) say which process refused what.
 */
export function passwordSwitchFailure(name: string, exitCode: number | undefined, logs: string | undefined): string | undefined {
    if (exitCode === undefined || exitCode === 0) return undefined;
    const tail = (logs ?? "").trim().split("\n").slice(-8).join("\n");
    return (
        `tile38-ha: the live password switch (container ${name}) exited ${exitCode}: the running cluster is not on the new passwords, ` +
        `so no container is replaced (they would start with passwords the others refuse). Its log:\n${tail}\n` +
        `Fix what it names, then run it again: pulumi up --replace <the URN of ${name}>.`
    );
}

/**
 * The live password switch of a Docker cluster: a one-shot container (`<prefix>-password-switch`,
 * host networking, the sentinel image) running `password-switch.sh`. Docker replaces it, and so
 * runs it again, exactly when its secret environment changes, i.e. when a password changes (or
 * its script or image does); a `pulumi up` waits for it to exit (`attach`) before it replaces any
 * sentinel or node (see {@link DockerTile38Cluster}). It reads the passwords in force from the
 * processes' volumes, mounted read-only, so nothing old has to be kept in Pulumi's state. It stays
 * as an exited container (`docker ps -a`), like a finished job; a failure (exit code ≠ 0) fails
 * the `pulumi up` before anything is replaced.
 */
export class DockerPasswordSwitch extends pulumi.ComponentResource {
    readonly container: docker.Container;
    /** Resolves once the switch has run (or had nothing to do); rejects when it failed. */
    readonly done: pulumi.Output<boolean>;

    constructor(name: string, args: DockerPasswordSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:PasswordSwitch", name, {}, opts);
        const topo = dockerTopology(args.config);
        const nodeNames = topo.nodes.map((n) => `${n.name}-data`);
        const sentinelNames = topo.sentinels.map((s) => `${s.name}-data`);
        const scriptPath = `${SCRIPT_DIR}/password-switch.sh`;
        const script = renderPasswordSwitchScript(topo, { nodeDirs: nodeNames.map(switchMountPath), sentinelDirs: sentinelNames.map(switchMountPath) });
        const mount = (v: docker.Volume, volumeName: string) => ({ volumeName: v.name, containerPath: switchMountPath(volumeName), readOnly: true });
        this.container = new docker.Container(
            name,
            {
                name,
                image: args.imageId,
                networkMode: "host",
                restart: "no",
                // A job: it runs once and exits; `attach` makes the create wait for its end.
                mustRun: false,
                attach: true,
                logs: true,
                entrypoints: scriptEntrypoint(scriptPath, {}),
                envs: secretEnvs(args.tile38Password, args.sentinelPassword),
                uploads: [{ file: scriptPath, content: script, executable: true }],
                volumes: [...args.nodeVolumes.map((v, i) => mount(v, nodeNames[i])), ...args.sentinelVolumes.map((v, i) => mount(v, sentinelNames[i]))],
                labels: [{ label: "tile38-ha.role", value: "password-switch" }],
            },
            { parent: this },
        );
        this.done = pulumi.all([this.container.exitCode, this.container.containerLogs]).apply(([code, logs]) => {
            const failure = passwordSwitchFailure(name, code, logs);
            if (failure) throw new pulumi.ResourceError(failure, this.container);
            return true;
        });
        this.registerOutputs({});
    }
}
