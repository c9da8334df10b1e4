import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList } from "./containerSpec";

/** Arguments of {@link LocalS3Server}. */
export interface LocalS3ServerArgs {
    /** Pinned Versity S3 gateway image (`backup.localImage`, default `versity/versitygw:v1.8.0`). */
    image: string;
    /** Port it listens on with host networking (`backup.localPort`, default 9000). */
    port: number;
    /** Address it listens on (`docker.bindAddress`); a wildcard bind is reached via 127.0.0.1. */
    bindAddress: string;
    /** Prefix of the container and volume names (`docker.namePrefix`). */
    namePrefix: string;
    /** Root access key id (the `backupAccessKeyId` secret); kept secret. */
    accessKeyId: pulumi.Input<string>;
    /** Root secret access key (the `backupSecretAccessKey` secret); kept secret. */
    secretAccessKey: pulumi.Input<string>;
    /** Docker restart policy (`docker.restartPolicy`). */
    restartPolicy: string;
}

/** Endpoint URL the backup agents on the same host use to reach the local S3 server. */
export function localS3Endpoint(bindAddress: string, port: number): string {
    const host = bindAddress === "0.0.0.0" || bindAddress === "::" || bindAddress === "" ? "127.0.0.1" : bindAddress;
    return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * An S3-compatible server on the Docker host for the `local` backup store: the Versity S3
 * gateway (`versitygw posix`) with host networking and a persistent named volume, the same
 * server the integration tests run. Plain HTTP on the bind address: keep `docker.bindAddress`
 * on loopback or a private network.
 */
export class LocalS3Server extends pulumi.ComponentResource {
    /** `http://<address>:<port>`, for the agents' `BACKUP_ENDPOINT`. */
    readonly endpoint: string;
    /** The data volume (kept on `pulumi destroy`: it holds the backups). */
    readonly volume: docker.Volume;
    /** The container. */
    readonly container: docker.Container;

    constructor(name: string, args: LocalS3ServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:docker:LocalS3Server", name, {}, opts);
        if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65535) {
            throw new pulumi.ResourceError(`LocalS3Server: port ${args.port} is out of range`, this);
        }
        this.endpoint = localS3Endpoint(args.bindAddress, args.port);
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        const volumeName = `${args.namePrefix}-s3-data`;
        this.volume = new docker.Volume(`${name}-data`, { name: volumeName }, { parent: this, retainOnDelete: true });
        const listen = args.bindAddress.includes(":") ? `[${args.bindAddress}]:${args.port}` : `${args.bindAddress}:${args.port}`;
        this.container = new docker.Container(
            name,
            {
                name: `${args.namePrefix}-s3`,
                image: image.imageId,
                networkMode: "host",
                restart: args.restartPolicy,
                // The image's entrypoint is /app/versitygw.
                command: ["--port", listen, "posix", "/data"],
                envs: pulumi.secret(
                    pulumi.all([args.accessKeyId, args.secretAccessKey]).apply(([id, key]) => envList({ ROOT_ACCESS_KEY: id, ROOT_SECRET_KEY: key })),
                ),
                volumes: [{ volumeName: this.volume.name, containerPath: "/data" }],
                labels: [{ label: "tile38-ha.role", value: "local-s3" }],
            },
            { parent: this },
        );
        this.registerOutputs({ endpoint: this.endpoint });
    }
}
