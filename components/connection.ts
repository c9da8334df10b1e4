/**
 * How clients reach a cluster: the same shape on both targets. Clients connect to the sentinels
 * and ask them for the leader of `masterName`; they never connect to a Tile38 node by address.
 */
import * as pulumi from "@pulumi/pulumi";
import { lettuceSentinelUri } from "./render/clients";
import { Endpoint } from "./render/topology";

/** A cluster's connection details; each field an output, the passwords secret. */
export interface ClusterConnection {
    /** Name under which the sentinels know the leader (`SENTINEL GET-MASTER-ADDR-BY-NAME`). */
    masterName: pulumi.Output<string>;
    /** Every sentinel (host, port): ioredis `sentinels`, redis-py `Sentinel([...])`. */
    sentinels: pulumi.Output<Endpoint[]>;
    /** Every sentinel as `host:port`: Jedis `JedisSentinelPool`, go-redis `FailoverOptions.SentinelAddrs`. */
    sentinelAddresses: pulumi.Output<string[]>;
    /** Lettuce: `redis-sentinel://h1:p1,h2:p2,h3:p3#mymaster` (no password in it). */
    lettuceUri: pulumi.Output<string>;
    /** Password of the Tile38 nodes (secret). */
    tile38Password: pulumi.Output<string>;
    /** Password of the sentinels (secret). */
    sentinelPassword: pulumi.Output<string>;
}

/** The connection of a cluster from its sentinel endpoints, master name and passwords. */
export function clusterConnection(
    sentinels: pulumi.Input<Endpoint[]>,
    masterName: string,
    passwords: { tile38: pulumi.Input<string>; sentinel: pulumi.Input<string> },
): ClusterConnection {
    const endpoints = pulumi.output(sentinels);
    return {
        masterName: pulumi.output(masterName),
        sentinels: endpoints,
        sentinelAddresses: endpoints.apply((es) => es.map((e) => `${e.host}:${e.port}`)),
        lettuceUri: endpoints.apply((es) => lettuceSentinelUri(es, masterName)),
        tile38Password: pulumi.secret(passwords.tile38),
        sentinelPassword: pulumi.secret(passwords.sentinel),
    };
}
