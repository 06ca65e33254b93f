package node

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/cognito-mfa-operator/cognito-mfa-operator/internal/localenv"
)

const (
	// operatorImage is the chart's default image (image.repository and the
	// chart's appVersion) and the Makefile's default IMG: built from this
	// checkout with `make docker-build` and imported, it is what the chart
	// runs with its default values, never pulled (image.pullPolicy=Never).
	operatorImage = "ghcr.io/cognito-mfa-operator/manager:latest"
	// pauseImage is the pod sandbox image (containerd's sandbox_image).
	pauseImage = "localhost/cognito-mfa-node-test/pause:1"
)

// pauseContainerfile: the static pause binary on scratch.
const pauseContainerfile = "FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT [\"/pause\"]\n"

// images builds the pause and operator images with the container tool,
// offline, and saves them as docker archives in dir for `ctr images import`.
// It returns the archives and the images it put in the tool's store that
// were not there before (removed at teardown).
func buildImages(dir, tool string) (archives, added []string, err error) {
	// The pause program, static.
	ctx := filepath.Join(dir, "pause-image")
	if err := os.MkdirAll(ctx, 0o700); err != nil {
		return nil, nil, err
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(ctx, "pause"), "./test/node/pause")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go build ./test/node/pause: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(pauseContainerfile), 0o600); err != nil {
		return nil, nil, err
	}
	for _, img := range []string{pauseImage, operatorImage} {
		if !localenv.ImageExists(tool, img) {
			added = append(added, img)
		}
	}
	args := []string{"build", "-t", pauseImage, "-f", filepath.Join(ctx, "Containerfile"), ctx}
	if tool != "docker" {
		args = append([]string{"build", "--network=none"}, args[1:]...)
	}
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		return nil, added, fmt.Errorf("%s %v: %v\n%s", tool, args, err, out)
	}
	// The operator, as the README builds it.
	if err := localenv.BuildImage(root, tool, operatorImage); err != nil {
		return nil, added, err
	}
	for i, img := range []string{pauseImage, operatorImage} {
		tar := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		if err := localenv.SaveImage(tool, img, tar); err != nil {
			return nil, added, err
		}
		archives = append(archives, tar)
	}
	return archives, added, nil
}
