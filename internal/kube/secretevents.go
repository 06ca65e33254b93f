package kube

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// SecretEvents tells the controllers about every change to a Secret in the
// watched namespaces without keeping any Secret: a metadata-only list and
// watch whose store remembers nothing. The controllers read the Secrets they
// use fresh from the API server, so an informer's copy of every Secret in
// the cluster (even trimmed to metadata, a few hundred bytes each) would only
// cost memory that grows with Secrets the operator never uses.
type SecretEvents struct {
	client     metadata.Interface
	namespaces []string

	mu       sync.Mutex
	handlers []func(context.Context, *metav1.PartialObjectMetadata)
	once     sync.Once
	synced   chan struct{}
	pending  sync.WaitGroup
}

var secretsResource = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// NewSecretEvents watches Secrets in namespaces (all when empty).
func NewSecretEvents(cfg *rest.Config, namespaces []string) (*SecretEvents, error) {
	c, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	return &SecretEvents{client: c, namespaces: namespaces, synced: make(chan struct{})}, nil
}

// Source is a controller source that enqueues what mapFn maps each changed,
// added or deleted Secret to, and everything all returns when the watch had
// to start over (a Secret may have changed or gone unseen meanwhile).
func (e *SecretEvents) Source(mapFn handler.MapFunc, all func(context.Context) []reconcile.Request) source.SyncingSource {
	return &secretSource{events: e, mapFn: mapFn, all: all}
}

type secretSource struct {
	events *SecretEvents
	mapFn  handler.MapFunc
	all    func(context.Context) []reconcile.Request
}

func (s *secretSource) Start(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	s.events.subscribe(func(ctx context.Context, obj *metav1.PartialObjectMetadata) {
		reqs := s.all
		if obj != nil {
			reqs = func(ctx context.Context) []reconcile.Request { return s.mapFn(ctx, obj) }
		}
		for _, req := range reqs(ctx) {
			q.Add(req)
		}
	})
	s.events.start(ctx)
	return nil
}

// WaitForSync holds the controller's workers until every namespace has been
// listed once: from then on no change can fall between a reconcile's read
// and the watch.
func (s *secretSource) WaitForSync(ctx context.Context) error {
	select {
	case <-s.events.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *secretSource) String() string { return "SecretEvents" }

func (e *SecretEvents) subscribe(h func(context.Context, *metav1.PartialObjectMetadata)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handlers = append(e.handlers, h)
}

// start runs one reflector per namespace, once, for as long as ctx (the
// manager's) lasts.
func (e *SecretEvents) start(ctx context.Context) {
	e.once.Do(func() {
		e.pending.Add(len(e.namespaces))
		go func() {
			e.pending.Wait()
			close(e.synced)
		}()
		for _, ns := range e.namespaces {
			lw := &toolscache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return e.client.Resource(secretsResource).Namespace(ns).List(ctx, o)
				},
				WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return e.client.Resource(secretsResource).Namespace(ns).Watch(ctx, o)
				},
			}
			store := &notifyingStore{ctx: ctx, notify: e.notify, listed: e.pending.Done}
			r := toolscache.NewReflectorWithOptions(lw, &metav1.PartialObjectMetadata{}, store,
				toolscache.ReflectorOptions{Name: "secret-events " + ns})
			go r.RunWithContext(ctx)
		}
	})
}

// notify passes a Secret to the handlers; nil says "any Secret may have
// changed".
func (e *SecretEvents) notify(ctx context.Context, obj any) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok && obj != nil {
		return
	}
	e.mu.Lock()
	handlers := e.handlers
	e.mu.Unlock()
	for _, h := range handlers {
		h(ctx, m)
	}
}

// notifyingStore is a reflector's store that keeps nothing: each object it
// is handed becomes an event. The first list only marks the namespace
// synced (the controllers have not read anything yet); a later one, after a
// watch could not resume, says that anything may have changed in the gap,
// deletions included, which no list shows.
type notifyingStore struct {
	ctx    context.Context
	notify func(context.Context, any)
	listed func()
	once   sync.Once
	relist bool
}

func (s *notifyingStore) Add(obj any) error    { s.notify(s.ctx, obj); return nil }
func (s *notifyingStore) Update(obj any) error { s.notify(s.ctx, obj); return nil }
func (s *notifyingStore) Resync() error        { return nil }

func (s *notifyingStore) Delete(obj any) error {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s.notify(s.ctx, obj)
	return nil
}

func (s *notifyingStore) Replace([]any, string) error {
	if s.relist {
		s.notify(s.ctx, nil)
	}
	s.relist = true
	s.once.Do(s.listed)
	return nil
}
