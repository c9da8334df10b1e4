import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Arguments of {@link ClusterPasswords}. */
export interface ClusterPasswordsArgs {
    /** Tile38 `requirepass`/`leaderauth`. Unset: a random 32-character password is generated. */
    tile38Password?: pulumi.Input<string>;
    /** The sentinels' `requirepass` (and `sentinel-pass` between them). Unset: generated. */
    sentinelPassword?: pulumi.Input<string>;
}

/**
 * The cluster's two passwords, each either given by the stack (a secret) or generated with
 * `@pulumi/random`. Both outputs are always secrets. Generated passwords use letters and
 * digits only, so they are safe in every config format the start scripts write.
 */
export class ClusterPasswords extends pulumi.ComponentResource {
    /** Password of every Tile38 node (secret). */
    readonly tile38: pulumi.Output<string>;
    /** Password of every sentinel (secret). */
    readonly sentinel: pulumi.Output<string>;

    constructor(name: string, args: ClusterPasswordsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:index:ClusterPasswords", name, {}, opts);
        const make = (which: string, given?: pulumi.Input<string>) =>
            pulumi.secret(
                given !== undefined
                    ? pulumi.output(given)
                    : new random.RandomPassword(`${name}-${which}`, { length: 32, special: false }, { parent: this }).result,
            );
        this.tile38 = make("tile38", args.tile38Password);
        this.sentinel = make("sentinel", args.sentinelPassword);
        this.registerOutputs({ tile38: this.tile38, sentinel: this.sentinel });
    }
}

/** Characters the start scripts accept in a password (they write it into JSON and config files; lib.sh `check_password`). */
export const PASSWORD_CHARACTERS = /^[A-Za-z0-9._~+=@%^,:/-]+$/;

/** Why the start scripts would refuse this password (naming the argument, never the value), or undefined. */
export function passwordProblem(what: string, value: string): string | undefined {
    if (PASSWORD_CHARACTERS.test(value)) return undefined;
    return `tile38-ha: ${what} ${value === "" ? "is empty" : "has characters the start scripts refuse"}: use letters, digits and ._~+=@%^,:/- only`;
}

/**
 * The password, refused when the program runs (a preview too, for a known value) rather than
 * when the container starts minutes into `pulumi up`.
 */
export function checkedPassword(what: string, password: pulumi.Output<string>): pulumi.Output<string> {
    return pulumi.secret(
        password.apply((v) => {
            const problem = passwordProblem(what, v);
            if (problem) throw new Error(problem);
            return v;
        }),
    );
}

/** The two passwords as secret outputs. */
export interface ClusterPasswordOutputs {
    tile38: pulumi.Output<string>;
    sentinel: pulumi.Output<string>;
}

/**
 * The passwords of a cluster component: the given ones as secrets, and a {@link ClusterPasswords}
 * child named like the component only when one is missing (so a component given both passwords
 * creates nothing for them).
 */
export function clusterPasswords(
    name: string,
    given: { tile38Password?: pulumi.Input<string>; sentinelPassword?: pulumi.Input<string> },
    parent: pulumi.Resource,
): ClusterPasswordOutputs {
    if (given.tile38Password !== undefined && given.sentinelPassword !== undefined) {
        return { tile38: checkedPassword("tile38Password", pulumi.output(given.tile38Password)), sentinel: checkedPassword("sentinelPassword", pulumi.output(given.sentinelPassword)) };
    }
    const generated = new ClusterPasswords(name, given, { parent });
    return { tile38: checkedPassword("tile38Password", generated.tile38), sentinel: checkedPassword("sentinelPassword", generated.sentinel) };
}
