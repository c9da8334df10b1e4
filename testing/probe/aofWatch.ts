/**
 * How big the leader's AOF gets between compactions: samples every node's role and AOF size and
 * reads the compactions off the leader's size (a leader's AOF only ever shrinks by a compaction;
 * the size right after it is the compacted size).
 */
import { ClusterProbe } from "./clusterProbe";
import { Sample, Sampler } from "./sampler";

/** One sample: the leader's index and its AOF size in bytes (undefined when none answers as leader). */
export interface LeaderAof {
    leader: number;
    aofSize: number;
}

export interface AofFigures {
    /** Compactions seen (drops of the leader's AOF size, the leader unchanged). */
    compactions: number;
    /** The largest ratio of the leader's AOF to its size right after the last compaction, once one was seen. */
    worstRatio?: number;
}

/** The compactions and the worst AOF/compacted ratio in a run of samples (pure). */
export function aofFigures(samples: Sample<LeaderAof | undefined>[]): AofFigures {
    let compactions = 0;
    let compacted: number | undefined;
    let worst: number | undefined;
    let prev: LeaderAof | undefined;
    for (const { value } of samples) {
        if (!value) continue;
        if (prev && prev.leader !== value.leader) compacted = undefined; // another leader's file
        if (prev && prev.leader === value.leader && value.aofSize < prev.aofSize) {
            compactions++;
            compacted = value.aofSize;
        }
        if (compacted !== undefined) worst = Math.max(worst ?? 0, value.aofSize / compacted);
        prev = value;
    }
    return { compactions, ...(worst === undefined ? {} : { worstRatio: Math.round(worst * 100) / 100 }) };
}

/**
 * When each compaction's swap happened, at the earliest: the time of the sample before the
 * leader's AOF was seen smaller (the leader unchanged), ms since epoch (pure).
 */
export function compactionSwaps(samples: Sample<LeaderAof | undefined>[]): number[] {
    const swaps: number[] = [];
    let prev: Sample<LeaderAof | undefined> | undefined;
    for (const x of samples) {
        if (!x.value) continue;
        if (prev?.value && prev.value.leader === x.value.leader && x.value.aofSize < prev.value.aofSize) swaps.push(prev.at);
        prev = x;
    }
    return swaps;
}

/** Samples the leader's AOF size every `intervalMs` until stopped. */
export function watchLeaderAof(c: ClusterProbe, intervalMs = 250): Sampler<LeaderAof | undefined> {
    return new Sampler(async () => {
        const st = await Promise.all(c.topo.nodes.map((_n, i) => c.nodeStatus(i)));
        const leader = st.findIndex((s) => s?.role === "master");
        return leader >= 0 ? { leader, aofSize: st[leader]!.aofSize } : undefined;
    }, intervalMs);
}
