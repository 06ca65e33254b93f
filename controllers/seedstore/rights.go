package seedstore

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/api/v1alpha1"
)

// rightsPoll is how often a namespace being deleted is looked at again
// while the operator still has work there.
const rightsPoll = 2 * time.Second

// Rights keeps the manager's rights in each watched namespace (namespace
// mode) for as long as it has work there. A namespace deletion deletes the
// RoleBinding that grants them (to a ClusterRole, which no namespace
// deletion touches) together with the enrollments and their Secrets; the
// chart gives it FinalizerRights, and Rights lifts it once no enrollment
// and no Secret carrying a finalizer of the operator's is left in the
// namespace (their seeds are in the store by then), or at once when the
// namespace stays (an uninstall, a namespace dropped from watchNamespaces).
// One object is guarded, not a Role and its binding: lifting either of two
// would take away the right to lift the other. A request names a namespace.
type Rights struct {
	// Client writes and reads the RoleBinding (cached, by name).
	client.Client
	// APIReader lists what is left in a namespace being deleted.
	APIReader client.Reader
	// Name is the RoleBinding's (--namespace-rights).
	Name string
	// Namespaces are the watched namespaces; empty is all.
	Namespaces []string
}

// Reconcile lifts FinalizerRights from the namespace's RoleBinding once it
// is being deleted and nothing needs it.
func (r *Rights) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := req.Name
	var binding rbacv1.RoleBinding
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: r.Name}, &binding); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if binding.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(&binding, v1alpha1.FinalizerRights) {
		return reconcile.Result{}, nil
	}
	var namespace corev1.Namespace
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: ns}, &namespace); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	if namespace.DeletionTimestamp != nil {
		left, err := r.left(ctx, ns)
		if err != nil {
			return reconcile.Result{}, err
		}
		if left != "" {
			log.FromContext(ctx).V(1).Info("keeping the rights in a namespace being deleted", "namespace", ns, "waitingFor", left)
			return reconcile.Result{RequeueAfter: rightsPoll}, nil
		}
	}
	controllerutil.RemoveFinalizer(&binding, v1alpha1.FinalizerRights)
	if err := r.Update(ctx, &binding); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	log.FromContext(ctx).Info("released the manager's rights", "namespace", ns, "roleBinding", r.Name)
	return reconcile.Result{}, nil
}

// left names something of the operator's still in the namespace: an
// enrollment, or a Secret with one of its finalizers; "" when none is.
func (r *Rights) left(ctx context.Context, ns string) (string, error) {
	var enrollments metav1.PartialObjectMetadataList
	enrollments.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("SoftwareTokenEnrollmentList"))
	if err := r.APIReader.List(ctx, &enrollments, client.InNamespace(ns)); err != nil {
		return "", err
	}
	if len(enrollments.Items) > 0 {
		return "softwaretokenenrollment/" + enrollments.Items[0].Name, nil
	}
	var secrets metav1.PartialObjectMetadataList
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := r.APIReader.List(ctx, &secrets, client.InNamespace(ns)); err != nil {
		return "", err
	}
	for _, s := range secrets.Items {
		for _, f := range s.Finalizers {
			if strings.HasPrefix(f, v1alpha1.OperatorPrefix) {
				return "secret/" + s.Name, nil
			}
		}
	}
	return "", nil
}

// SetupWithManager watches the RoleBinding and the namespaces. The
// manager's cache must select the RoleBinding by name (the chart grants
// list and watch on that name only): see RightsCache.
func (r *Rights) SetupWithManager(mgr manager.Manager) error {
	byNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		ns := obj.GetNamespace()
		if ns == "" { // a Namespace
			ns = obj.GetName()
		}
		if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, ns) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: ns}}}
	})
	return builder.ControllerManagedBy(mgr).Named("rights").
		Watches(&rbacv1.RoleBinding{}, byNamespace).
		WatchesMetadata(&corev1.Namespace{}, byNamespace).
		Complete(r)
}

// RightsCache makes the manager's cache select the RoleBinding named
// name, the only one the manager may list and watch.
func RightsCache(opts *cache.Options, name string) {
	if opts.ByObject == nil {
		opts.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.ByObject[&rbacv1.RoleBinding{}] = cache.ByObject{Field: fields.OneTermEqualSelector("metadata.name", name)}
}
