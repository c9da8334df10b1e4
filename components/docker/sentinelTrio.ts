import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { renderSentinelConf } from "../render/sentinelConf";
import { renderSentinelHealthScript, renderSentinelStartScript } from "../render/sentinelScripts";
import { dockerTopology, Endpoint } from "../render/topology";
import { LiveCluster } from "./liveLeader";
import { rolloutChain } from "./rolloutOrder";
import { chainedAfter, dataVolume, HEALTHCHECK_TIMINGS, localAddress, rolloutSettings, SCRIPT_DIR, scriptEntrypoint, secretEnvs } from "./containerSpec";

/** Arguments of {@link DockerSentinelTrio}. */
export interface DockerSentinelTrioArgs {
    /** The validated stack config (`target: docker`). */
    config: StackConfig;
    /** Image ID of the pulled, pinned Redis image that runs `redis-server --sentinel`. */
    imageId: pulumi.Input<string>;
    /** Tile38 password (Sentinel `auth-pass`); kept secret. */
    tile38Password: pulumi.Input<string>;
    /** The sentinels' own password (`requirepass`, `sentinel-pass`); kept secret. */
    sentinelPassword: pulumi.Input<string>;
    /**
     * What the running sentinels say when the `pulumi up` starts: when any answers, the
     * sentinels roll one at a time in index order; otherwise (unset, none answers) all start at once.
     * @default undefined
     */
    live?: pulumi.Input<LiveCluster | undefined>;
    /**
     * What every container waits for before it is created or replaced, besides the one before it
     * in the rollout (the live password switch; during a sentinel password rotation the Tile38
     * containers wait for nothing else and the sentinels for them).
     * @default none
     */
    after?: pulumi.Input<pulumi.Resource[]>;
}

/**
 * The sentinels, one container each with host networking and a named volume of its own:
 * each builds its own writable `sentinel.conf` there at start from its rendered template,
 * so no two sentinels ever share a config (and with it an id).
 *
 * A `pulumi up` that replaces the sentinels of a running cluster rolls them one at a time, in index order: each is
 * created only once the one before it is healthy (it answers and knows its peers), so a quorum
 * answers throughout and the change itself never triggers a failover.
 */
export class DockerSentinelTrio extends pulumi.ComponentResource {
    readonly containers: docker.Container[];
    readonly volumes: docker.Volume[];
    /** Advertised address and port of every sentinel. */
    readonly endpoints: Endpoint[];
    /** The rendered template of every sentinel (no secrets). */
    readonly templates: string[];

    constructor(name: string, args: DockerSentinelTrioArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:SentinelTrio", name, {}, opts);
        const { config } = args;
        const topo = dockerTopology(config);
        const script = renderSentinelStartScript(topo);
        const scriptPath = `${SCRIPT_DIR}/sentinel-start.sh`;
        const templatePath = `${SCRIPT_DIR}/sentinel.conf.template`;
        const healthPath = `${SCRIPT_DIR}/sentinel-health.sh`;
        const health = renderSentinelHealthScript(topo);
        const local = localAddress(config.docker);
        this.endpoints = topo.sentinels.map(({ host, port }) => ({ host, port }));
        this.templates = topo.sentinels.map((s) => renderSentinelConf(s, topo, topo.nodes[0], config.docker.bindAddress));
        this.volumes = topo.sentinels.map(
            (s) => dataVolume(s.name, this),
        );
        const containers: docker.Container[] = [];
        this.containers = containers;
        const before = pulumi.output(args.live).apply((live) => rolloutChain(topo.sentinels.length, live, () => topo.sentinels.map((_, i) => i)));
        topo.sentinels.forEach((s, i) => {
            const envs = secretEnvs(args.tile38Password, args.sentinelPassword);
            containers[i] = new docker.Container(
                s.name,
                {
                    name: s.name,
                    image: args.imageId,
                    networkMode: "host",
                    restart: config.docker.restartPolicy,
                    entrypoints: scriptEntrypoint(scriptPath, { SELF: `${s.host}:${s.port}`, SENTINEL_TEMPLATE: templatePath, DATA_DIR: "/data" }),
                    envs,
                    uploads: [
                        { file: scriptPath, content: script, executable: true },
                        { file: templatePath, content: this.templates[i] },
                        { file: healthPath, content: health, executable: true },
                    ],
                    volumes: [{ volumeName: this.volumes[i].name, containerPath: "/data" }],
                    // The password comes from the container's own environment, not from this definition.
                    healthcheck: {
                        tests: ["CMD-SHELL", `SELF=${local}:${s.port} /bin/sh ${healthPath}`],
                        ...HEALTHCHECK_TIMINGS,
                    },
                    // A sentinel needs no hand-over: a short grace lets it exit cleanly.
                    ...rolloutSettings(config.docker, 10),
                    labels: [
                        { label: "tile38-ha.role", value: "sentinel" },
                        { label: "tile38-ha.sentinel", value: String(s.index + 1) },
                    ],
                },
                { parent: this, dependsOn: chainedAfter(containers, before, i, args.after) },
            );
        });
        this.registerOutputs({ endpoints: this.endpoints });
    }
}
