import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { dockerTopology } from "../render/topology";
import { envList, localAddress } from "./containerSpec";

/** Arguments of {@link DockerSentinelExporters}. */
export interface DockerSentinelExportersArgs {
    /** The validated stack config (`target: docker`, metrics on). */
    config: StackConfig;
    /** Image ID of the pulled, pinned redis_exporter image (`metrics.sentinelExporterImage`). */
    imageId: pulumi.Input<string>;
    /** The sentinels' password (the exporter's `REDIS_PASSWORD`); kept secret. */
    sentinelPassword: pulumi.Input<string>;
}

/**
 * One redis_exporter per sentinel (`<sentinel>-exporter`), host networking: it asks its sentinel
 * (`SENTINEL MASTERS`, `INFO`, `SENTINEL CKQUORUM`) at every scrape and serves `redis_sentinel_*`
 * on `docker.bindAddress` at `metrics.sentinelExporterPort + i`, the sentinel's own address. It
 * holds no state: a change replaces it at once, and nothing waits for it.
 */
export class DockerSentinelExporters extends pulumi.ComponentResource {
    /** The exporter containers, sentinel 1 first. */
    readonly containers: docker.Container[];

    constructor(name: string, args: DockerSentinelExportersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:SentinelExporters", name, {}, opts);
        const { config } = args;
        const local = localAddress(config.docker);
        const envs = pulumi.secret(pulumi.output(args.sentinelPassword).apply((pw) => envList({ REDIS_PASSWORD: pw })));
        this.containers = dockerTopology(config).sentinels.map(
            (s) =>
                new docker.Container(
                    `${s.name}-exporter`,
                    {
                        name: `${s.name}-exporter`,
                        image: args.imageId,
                        networkMode: "host",
                        restart: config.docker.restartPolicy,
                        command: [`--redis.addr=redis://${local}:${s.port}`, `--web.listen-address=${config.docker.bindAddress}:${s.exporterPort}`],
                        envs,
                        labels: [
                            { label: "tile38-ha.role", value: "sentinel-exporter" },
                            { label: "tile38-ha.sentinel", value: String(s.index + 1) },
                        ],
                    },
                    { parent: this },
                ),
        );
        this.registerOutputs({});
    }
}
