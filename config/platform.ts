import type { DockerHostOs } from "./types";

/** Maps Node's `process.platform` to the Docker host OS names the config uses. */
export function hostOsFromPlatform(platform: string): DockerHostOs {
    switch (platform) {
        case "darwin":
            return "darwin";
        case "win32":
            return "windows";
        default:
            return "linux";
    }
}
