import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { renderTile38StartScript, renderTile38StopScript, tile38ReadyCommand } from "../render/tile38Scripts";
import { dockerTopology, Endpoint } from "../render/topology";
import { chainedAfter, dataVolume, HEALTHCHECK_TIMINGS, localAddress, rolloutSettings, SCRIPT_DIR, scriptEntrypoint, secretEnvs, TILE38_STOP_SCRIPT } from "./containerSpec";
import { LiveCluster } from "./liveLeader";
import { rolloutChain, tile38RolloutOrder } from "./rolloutOrder";

/** Arguments of {@link DockerTile38ReplicaSet}. */
export interface DockerTile38ReplicaSetArgs {
    /** The validated stack config (`target: docker`). */
    config: StackConfig;
    /** Image ID of the pulled, pinned Tile38 image (a `docker.RemoteImage`'s `imageId`). */
    imageId: pulumi.Input<string>;
    /** Tile38 password (`requirepass`/`leaderauth`); kept secret. */
    tile38Password: pulumi.Input<string>;
    /** Sentinel password the start script uses to ask the sentinels who leads; kept secret. */
    sentinelPassword: pulumi.Input<string>;
    /**
     * Extra environment per node (0-based index), e.g. the restore command of the backup agent.
     * @default none
     */
    extraEnv?: (index: number) => Record<string, string>;
    /**
     * What the running sentinels say when the `pulumi up` starts ({@link DockerTile38Cluster}
     * asks them): a running cluster rolls one node at a time, followers first and its leader last
     * ({@link tile38RolloutOrder}); without it (unset, or no sentinel answers) every node starts at once.
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
 * One container per Tile38 node with host networking, each with its own named volume at
 * `/data` (AOF and the config file Tile38 rewrites). Every node runs the same start script:
 * it asks the sentinels who leads and follows that node (see renderTile38StartScript).
 *
 * A `pulumi up` that replaces nodes of a running cluster rolls them one at a time in
 * {@link tile38RolloutOrder} (followers first, the leader last): each container is created only
 * once the one before it is healthy (serving and caught up), and every stop is a SIGTERM with
 * the hand-over's grace.
 */
export class DockerTile38ReplicaSet extends pulumi.ComponentResource {
    /** The containers, node 1 first. */
    readonly containers: docker.Container[];
    /** The data volumes, node 1 first. */
    readonly volumes: docker.Volume[];
    /** Advertised address and port of every node. */
    readonly endpoints: Endpoint[];

    constructor(name: string, args: DockerTile38ReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:Tile38ReplicaSet", name, {}, opts);
        const { config } = args;
        const topo = dockerTopology(config);
        const script = renderTile38StartScript(topo);
        const scriptPath = `${SCRIPT_DIR}/tile38-start.sh`;
        // `npm run failover` runs it with `docker exec`; `docker stop` hands over through the start script.
        const stopScript = renderTile38StopScript(topo);
        const local = localAddress(config.docker);
        this.endpoints = topo.nodes.map(({ host, port }) => ({ host, port }));
        this.volumes = topo.nodes.map(
            (node) => dataVolume(node.name, this),
        );
        const before = pulumi.output(args.live).apply((live) => rolloutChain(topo.nodes.length, live, (l) => tile38RolloutOrder(this.endpoints, l.leader), topo.sentinels.length));
        // SIGTERM makes the start script hand leadership over first (bounded by the failover
        // timeout plus the follower sync bound), then stop the server.
        const grace = Math.ceil(config.sentinel.failoverTimeoutMilliseconds / 1000) + topo.handoverSyncSeconds + 10;
        const containers: docker.Container[] = [];
        this.containers = containers;
        topo.nodes.forEach((node, i) => {
            const envs = secretEnvs(args.tile38Password, args.sentinelPassword, args.extraEnv ? args.extraEnv(i) : {});
            containers[i] = new docker.Container(
                node.name,
                {
                    name: node.name,
                    image: args.imageId,
                    networkMode: "host",
                    restart: config.docker.restartPolicy,
                    entrypoints: scriptEntrypoint(scriptPath, {
                        NODE_HOST: node.host,
                        NODE_PORT: node.port,
                        NODE_BIND: config.docker.bindAddress,
                        DATA_DIR: "/data",
                        METRICS_PORT: node.metricsPort,
                    }),
                    envs,
                    uploads: [
                        { file: scriptPath, content: script, executable: true },
                        { file: `${SCRIPT_DIR}/${TILE38_STOP_SCRIPT}`, content: stopScript, executable: true },
                    ],
                    volumes: [{ volumeName: this.volumes[i].name, containerPath: "/data" }],
                    healthcheck: { tests: ["CMD-SHELL", tile38ReadyCommand(local, node.port, "/data")], ...HEALTHCHECK_TIMINGS },
                    ...rolloutSettings(config.docker, grace),
                    labels: [
                        { label: "tile38-ha.role", value: "tile38" },
                        { label: "tile38-ha.node", value: String(node.index + 1) },
                    ],
                },
                { parent: this, dependsOn: chainedAfter(containers, before, i, args.after) },
            );
        });
        this.registerOutputs({ endpoints: this.endpoints });
    }
}
