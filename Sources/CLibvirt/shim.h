// libvirt's C API (Debian: libvirt-dev), imported into Swift as the module CLibvirt.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
