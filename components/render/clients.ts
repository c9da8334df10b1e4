import { Endpoint } from "./topology";

/** Lettuce-style URI: `redis-sentinel://h1:p1,h2:p2,h3:p3#mymaster` (no password in it). */
export function lettuceSentinelUri(sentinels: Endpoint[], masterName: string): string {
    return `redis-sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(",")}#${masterName}`;
}
