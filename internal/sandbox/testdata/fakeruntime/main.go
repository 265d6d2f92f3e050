// Command fakeruntime stands in for eci-vnode in the sandbox's process-lifecycle test: it
// prints its environment, then runs until a signal in one of two modes.
//
//	fakeruntime serve        print env, wait for SIGTERM, print "got SIGTERM", exit 0
//	fakeruntime ignore-term  print env, ignore SIGTERM (only SIGKILL ends it)
package main

import (
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
)

func main() {
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Println("env", kv)
	}
	fmt.Println("args", os.Args[1:])
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	sig := make(chan os.Signal, 1)
	switch mode {
	case "serve":
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		fmt.Println("got SIGTERM")
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		for { // not select{}: the runtime would call a goroutine-less block a deadlock
			time.Sleep(time.Hour)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(2)
	}
}
