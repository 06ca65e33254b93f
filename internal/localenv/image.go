package localenv

import (
	"errors"
	"fmt"
	"os/exec"
)

// ContainerTools are the tools `make docker-build CONTAINER_TOOL=...` can
// build the image with, in the order they are preferred.
var ContainerTools = []string{"podman", "buildah", "docker"}

// ContainerTool is the first of ContainerTools on PATH (docker only with a
// running engine), or an error saying none is.
func ContainerTool() (string, error) {
	for _, tool := range ContainerTools {
		if _, err := exec.LookPath(tool); err != nil {
			continue
		}
		if tool == "docker" && exec.Command("docker", "info").Run() != nil {
			continue // a client with no engine
		}
		return tool, nil
	}
	return "", errors.New("no container tool to build the image: none of podman, buildah, or docker with a running engine, is on PATH (Debian: apt-get install --no-install-recommends podman runc)")
}

// BuildImage builds the manager image img from the checkout at root the way
// the README says: `make docker-build CONTAINER_TOOL=tool IMG=img`.
func BuildImage(root, tool, img string) error {
	cmd := exec.Command("make", "--no-print-directory", "docker-build", "CONTAINER_TOOL="+tool, "IMG="+img)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make docker-build CONTAINER_TOOL=%s IMG=%s: %v\n%s", tool, img, err, out)
	}
	return nil
}

// SaveImage writes img to path as a docker-archive tarball, which
// `ctr images import` reads.
func SaveImage(tool, img, path string) error {
	args := []string{"save", "-o", path, img}
	if tool == "buildah" {
		args = []string{"push", img, "docker-archive:" + path + ":" + img}
	}
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", tool, args, err, out)
	}
	return nil
}

// ImageExists says whether the tool's store holds img.
func ImageExists(tool, img string) bool {
	args := []string{"image", "inspect", img}
	if tool == "buildah" {
		args = []string{"inspect", "--type", "image", img}
	}
	return exec.Command(tool, args...).Run() == nil
}

// RemoveImage removes img from the tool's store.
func RemoveImage(tool, img string) error {
	if out, err := exec.Command(tool, "rmi", "-f", img).CombinedOutput(); err != nil {
		return fmt.Errorf("%s rmi -f %s: %v\n%s", tool, img, err, out)
	}
	return nil
}
