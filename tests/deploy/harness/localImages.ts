/**
 * The deploy suite's images, built on this machine and imported into the test's engine (nothing
 * is pulled): honest stand-ins for the pinned images (same shells, same paths, the same binaries'
 * versions where this machine has them). See images/build-local-image.sh.
 */
import * as path from "path";
import { mustRun } from "../../../testing/command";
import { DockerEngine } from "./dockerEngine";

export interface LocalImages {
    /** busybox + the installed tile38-server (as tile38/tile38:1.37.0). */
    tile38: string;
    /** The same with another image ID: an image change to roll out. */
    tile38Next: string;
    /** A release whose tile38-server exits at once. */
    tile38Broken: string;
    /** busybox + Debian's Redis 7.0.15 (the sentinels). */
    redis: string;
    /** busybox + versitygw v1.8.0 (the local S3 store). */
    versitygw: string;
    /** Debian bookworm + Debian's AWS CLI 2.9.19 (the backup agents). */
    awsCli: string;
    /** busybox + redis_exporter v1.74.0 built from the Go module proxy (the sentinels' exporters). */
    redisExporter: string;
}

const TAGS: LocalImages = {
    tile38: "tile38-ha-local/tile38:1.37.0-a",
    tile38Next: "tile38-ha-local/tile38:1.37.0-b",
    tile38Broken: "tile38-ha-local/tile38:1.37.0-broken",
    redis: "tile38-ha-local/redis:7.0.15",
    versitygw: "tile38-ha-local/versitygw:v1.8.0",
    awsCli: "tile38-ha-local/aws-cli:2.9.19",
    redisExporter: "tile38-ha-local/redis_exporter:v1.74.0",
};

const KINDS: Record<keyof LocalImages, string> = {
    tile38: "tile38",
    tile38Next: "tile38-next",
    tile38Broken: "tile38-broken",
    redis: "redis",
    versitygw: "versitygw",
    awsCli: "aws-cli",
    redisExporter: "redis-exporter",
};

const SCRIPT = path.join(__dirname, "../images/build-local-image.sh");

/** Builds every image into `engine` (the AWS CLI root comes from a cache after the first time). */
export async function buildLocalImages(engine: DockerEngine, timeoutMs: number): Promise<LocalImages> {
    for (const key of Object.keys(TAGS) as (keyof LocalImages)[]) {
        await mustRun("bash", [SCRIPT, KINDS[key], TAGS[key]], { env: { ...process.env, ...engine.env() }, timeoutMs });
    }
    return TAGS;
}

/** The Kubernetes suite's images: the same stand-ins plus the pod sandbox and the client pod's Node.js. */
export interface ImageArchives {
    tags: LocalImages & { pause: string; node: string };
    /** docker-archive tarballs to import into containerd, one per tag. */
    files: string[];
}

/**
 * Writes every image as a docker-archive tarball into `dir` (for `ctr images import`), without
 * a Docker engine; the pause image is first.
 */
export async function buildImageArchives(dir: string, timeoutMs: number): Promise<ImageArchives> {
    const tags = { pause: "tile38-ha-local/pause:1", node: `tile38-ha-local/node:${process.versions.node}`, ...TAGS };
    const kinds: Record<keyof ImageArchives["tags"], string> = { pause: "pause", node: "node", ...KINDS };
    const files: string[] = [];
    for (const key of Object.keys(tags) as (keyof ImageArchives["tags"])[]) {
        const file = path.join(dir, `${kinds[key]}.tar`);
        await mustRun("bash", [SCRIPT, kinds[key], tags[key]], { env: { ...process.env, IMAGE_ARCHIVE: file }, timeoutMs });
        files.push(file);
    }
    return { tags, files };
}
