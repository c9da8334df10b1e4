/** Bounded polling: every wait in the integration tests goes through here. */

export interface WaitOptions {
    /** Give up after this long (required: no wait is unbounded). */
    timeoutMs: number;
    /** What is awaited, for the timeout message. */
    what: string;
    /** Delay between attempts. @default 100 */
    intervalMs?: number;
}

/** Thrown from a waitFor callback to stop waiting at once (e.g. the awaited process has exited). */
export class GiveUp extends Error {}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` until it returns a value other than `undefined`, `null` or `false` and returns that
 * value. Exceptions from `fn` count as "not yet" (the last one is reported on timeout), except
 * {@link GiveUp}, which ends the wait at once.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, opts: WaitOptions): Promise<T> {
    const started = Date.now();
    const deadline = started + opts.timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await fn();
            if (v !== undefined && v !== null && v !== false) return v as T;
            last = undefined;
        } catch (e) {
            if (e instanceof GiveUp) throw new Error(`gave up waiting for ${opts.what}: ${e.message}`);
            last = e;
        }
        if (Date.now() >= deadline) break;
        await sleep(Math.min(opts.intervalMs ?? 100, Math.max(deadline - Date.now(), 1)));
    }
    const why = last === undefined ? "" : `; last error: ${last instanceof Error ? last.message : String(last)}`;
    throw new Error(`timed out after ${Date.now() - started} ms waiting for ${opts.what}${why}`);
}

/** Rejects if `p` does not settle within `timeoutMs`. */
export async function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            p,
            new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
            }),
        ]);
    } finally {
        if (timer) clearTimeout(timer);
    }
}
