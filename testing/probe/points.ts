/**
 * A collection's content on one node (every id and its object as stored), to compare nodes by
 * content: a node holding an extra, missing or changed point differs even when counts agree.
 */
import { createHash } from "crypto";
import { Endpoint } from "../../components/render/topology";
import { resp, RespValue } from "../../components/status/resp";

/** id → the object Tile38 stores for it (its GeoJSON text), for collection `key` on `node`. */
export async function collectionOn(node: Endpoint, password: string, key: string): Promise<Map<string, string>> {
    const r: RespValue = await resp(node.port, scanCommand(key), password, { timeoutMs: 15000, host: node.host });
    return parseCollection(r, `${node.host}:${node.port}`, key);
}

/** The command that lists a collection's content: `SCAN key LIMIT … ` (ids and objects). */
export function scanCommand(key: string): (string | number)[] {
    return ["SCAN", key, "LIMIT", 10000000];
}

/** id → object from a {@link scanCommand} reply of node `where`; throws on anything else. */
export function parseCollection(r: RespValue, where: string, key: string): Map<string, string> {
    if (!Array.isArray(r) || !Array.isArray(r[1])) throw new Error(`SCAN ${key} on ${where} answered ${JSON.stringify(r)}`);
    const points = new Map<string, string>();
    for (const entry of r[1] as RespValue[]) {
        if (!Array.isArray(entry) || entry.length < 2) throw new Error(`SCAN ${key} on ${where}: unexpected entry ${JSON.stringify(entry)}`);
        points.set(String(entry[0]), String(entry[1]));
    }
    return points;
}

/** Same ids with the same objects. */
export function sameCollection(a: Map<string, string>, b: Map<string, string>): boolean {
    if (a.size !== b.size) return false;
    for (const [id, obj] of a) if (b.get(id) !== obj) return false;
    return true;
}

/** What `actual` holds that `expected` does not, and the reverse (a few ids of each). */
export function describeDifference(actual: Map<string, string>, expected: Map<string, string>): string {
    const extra = [...actual.keys()].filter((id) => !expected.has(id));
    const missing = [...expected.keys()].filter((id) => !actual.has(id));
    const changed = [...actual.keys()].filter((id) => expected.has(id) && expected.get(id) !== actual.get(id));
    const few = (ids: string[]) => `${ids.length}${ids.length ? ` (${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""})` : ""}`;
    return `extra ${few(extra)}, missing ${few(missing)}, changed ${few(changed)}`;
}

/**
 * A digest of a collection's content on one node (every id and its object, in Tile38's id order),
 * read in pages of `page` so that a million points never travel as one reply: two nodes hold the
 * same data exactly when their digests (and counts) agree.
 */
export async function collectionDigest(node: Endpoint, password: string, key: string, page = 50000): Promise<{ count: number; md5: string }> {
    const hash = createHash("md5");
    let count = 0;
    let cursor = 0;
    do {
        const r: RespValue = await resp(node.port, ["SCAN", key, "CURSOR", cursor, "LIMIT", page], password, { timeoutMs: 30000, host: node.host });
        if (!Array.isArray(r) || !Array.isArray(r[1])) throw new Error(`SCAN ${key} CURSOR ${cursor} on ${node.host}:${node.port} answered ${JSON.stringify(r).slice(0, 200)}`);
        for (const entry of r[1] as RespValue[]) {
            if (!Array.isArray(entry) || entry.length < 2) throw new Error(`SCAN ${key}: unexpected entry ${JSON.stringify(entry)}`);
            hash.update(`${String(entry[0])}\t${String(entry[1])}\n`);
            count++;
        }
        cursor = Number(r[0]);
    } while (cursor !== 0);
    return { count, md5: hash.digest("hex") };
}
