import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { renderTile38StartScript, renderTile38StopScript } from "../render/tile38Scripts";
import { dockerTopology, Endpoint } from "../render/topology";
import { dataVolume, HEALTHCHECK_TIMINGS, localAddress, SCRIPT_DIR, scriptEntrypoint, secretEnvs, TILE38_STOP_SCRIPT } from "./containerSpec";

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
}

/**
 * One container per Tile38 node with host networking, each with its own named volume at
 * `/data` (AOF and the config file Tile38 rewrites). Every node runs the same start script:
 * it asks the sentinels who leads and follows that node (see renderTile38StartScript).
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
        this.containers = topo.nodes.map((node, i) => {
            const envs = secretEnvs(args.tile38Password, args.sentinelPassword, args.extraEnv ? args.extraEnv(i) : {});
            return new docker.Container(
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
                    // HEALTHZ needs no password and fails on a follower that has not caught up.
                    healthcheck: { tests: ["CMD-SHELL", `wget -q -O /dev/null http://${local}:${node.port}/healthz || exit 1`], ...HEALTHCHECK_TIMINGS },
                    // SIGTERM makes the start script hand leadership over first (bounded by the
                    // failover timeout plus the follower sync bound), then stop the server.
                    stopTimeout: Math.ceil(config.sentinel.failoverTimeoutMilliseconds / 1000) + topo.handoverSyncSeconds + 10,
                    labels: [
                        { label: "tile38-ha.role", value: "tile38" },
                        { label: "tile38-ha.node", value: String(node.index + 1) },
                    ],
                },
                { parent: this },
            );
        });
        this.registerOutputs({ endpoints: this.endpoints });
    }
}
