package enrollment

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestOwnWrites(t *testing.T) {
	secret := types.NamespacedName{Namespace: "ns", Name: "bot-totp"}
	me, other := types.NamespacedName{Namespace: "ns", Name: "bot"}, types.NamespacedName{Namespace: "ns", Name: "other"}
	event := func(rv string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secret.Namespace, Name: secret.Name, ResourceVersion: rv}}
	}
	type step struct {
		do   string // begin, end, event
		rv   string
		who  types.NamespacedName
		want bool // end: missed; event: echo (dropped)
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"the echo after the reply is dropped, a later change is not", []step{
			{"begin", "", me, false}, {"end", "5", me, false}, {"event", "5", me, true}, {"event", "6", me, false}}},
		{"the echo before the reply is held, then dropped", []step{
			{"begin", "", me, false}, {"event", "5", me, true}, {"end", "5", me, false}, {"event", "6", me, false}}},
		{"someone else's change in flight makes the writer look again", []step{
			{"begin", "", me, false}, {"event", "4", me, true}, {"event", "5", me, true}, {"end", "5", me, true}, {"event", "6", me, false}}},
		{"another enrollment naming the Secret is woken", []step{
			{"begin", "", me, false}, {"event", "5", other, false}, {"end", "5", me, false}, {"event", "5", other, false}}},
		{"a failed write forgets the registration", []step{
			{"begin", "", me, false}, {"end", "", me, false}, {"event", "7", me, false}}},
		{"an event held during a failed write is looked at", []step{
			{"begin", "", me, false}, {"event", "7", me, true}, {"end", "", me, true}, {"event", "8", me, false}}},
		{"a Secret never written is not an echo", []step{{"event", "3", me, false}}},
		{"two writes in a row: the first's echo arriving during the second is still an echo", []step{
			{"begin", "", me, false}, {"end", "5", me, false}, {"begin", "", me, false}, {"event", "5", me, true},
			{"end", "6", me, false}, {"event", "6", me, true}, {"event", "7", me, false}}},
		{"two writes in a row, both echoes after the replies", []step{
			{"begin", "", me, false}, {"end", "5", me, false}, {"begin", "", me, false}, {"end", "6", me, false},
			{"event", "5", me, true}, {"event", "6", me, true}, {"event", "7", me, false}}},
		{"a different change after the reply ends the registration", []step{
			{"begin", "", me, false}, {"end", "5", me, false}, {"event", "6", me, false}, {"event", "5", me, false}}},
	}
	var none *ownWrites
	none.begin(secret, me)
	if none.end(secret, "5") || none.echo(event("5"), me) {
		t.Fatal("a nil ownWrites suppressed an event")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &ownWrites{}
			for i, s := range tc.steps {
				var got bool
				switch s.do {
				case "begin":
					w.begin(secret, s.who)
					continue
				case "end":
					got = w.end(secret, s.rv)
				case "event":
					got = w.echo(event(s.rv), s.who)
				}
				if got != s.want {
					t.Fatalf("step %d (%s rv=%q by %s) = %v, want %v", i, s.do, s.rv, s.who.Name, got, s.want)
				}
			}
		})
	}
}
