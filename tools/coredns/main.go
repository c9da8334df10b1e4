// Command coredns is CoreDNS with only the plugins the test cluster's DNS needs (no cloud
// back-ends, no forward: the cluster never resolves through the machine's resolver).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// Plugins in the order CoreDNS runs them (a subset of its plugin.cfg).
var directives = []string{
	"bind",
	"errors",
	"log",
	"health",
	"ready",
	"cache",
	"hosts",
	"kubernetes",
}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
