// flux-apply: Flux's apply engine (github.com/fluxcd/pkg/ssa ApplyAllStaged), driven the way
// kustomize-controller drives it, so the benchmark can compare it with git-sync-operator on the
// same control plane. Prints one JSON line: {"seconds":…, "created":…, "configured":…, "unchanged":…}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	dir := flag.String("dir", "", "folder of YAML manifests")
	namespace := flag.String("namespace", "", "namespace to apply into")
	concurrency := flag.Int("concurrency", 4, "ssa ResourceManager concurrency (kustomize-controller's default is 4)")
	flag.Parse()
	if err := run(*kubeconfig, *dir, *namespace, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "flux-apply:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, dir, namespace string, concurrency int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// Same client-side rate limits as kustomize-controller's defaults (--kube-api-qps/burst).
	cfg.QPS, cfg.Burst = 50, 300
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	objects, err := readDir(dir, namespace)
	if err != nil {
		return err
	}
	manager := ssa.NewResourceManager(c, polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{}), ssa.Owner{Field: "flux-bench", Group: "bench.fluxcd.io"})
	manager.SetConcurrency(concurrency)
	start := time.Now()
	cs, err := manager.ApplyAllStaged(context.Background(), objects, ssa.DefaultApplyOptions())
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, e := range cs.Entries {
		counts[string(e.Action)]++
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"seconds":    time.Since(start).Seconds(),
		"created":    counts[string(ssa.CreatedAction)],
		"configured": counts[string(ssa.ConfiguredAction)],
		"unchanged":  counts[string(ssa.UnchangedAction)],
	})
}

func readDir(dir, namespace string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []*unstructured.Unstructured
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		objs, err := utils.ReadObjects(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			o.SetNamespace(namespace)
		}
		all = append(all, objs...)
	}
	return all, nil
}
