// SPDX-License-Identifier: MIT
/*
 * A program not linked with sluice that loads it at run time, as a
 * language binding or a plugin host does (built by run.sh with -ldl
 * only). It dlopens libsluice.so itself, then a plugin built against it
 * (dlopen_plugin.c) whose code uses the header's inline fast path, and
 * runs the plugin's pool check. A library that needs static TLS fails
 * the first dlopen ("cannot allocate memory in static TLS block") once
 * the startup surplus is used up, which a 32 KiB TLS block always does.
 *
 * Usage: dlopen_host LIBSLUICE.so PLUGIN.so
 */
#define _POSIX_C_SOURCE 200809L /* unsetenv */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int (*run)(char *why, size_t len);
	char why[256] = "";
	void *lib, *plugin;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LIBSLUICE.so PLUGIN.so\n", argv[0]);
		return 2;
	}
	/* the pools' per-thread caches are what the check is about: a
	 * debug pool (the test suite sets SLUICE_DEBUG) bypasses them */
	unsetenv("SLUICE_DEBUG");
	lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		fprintf(stderr, "dlopen_host: %s\n", dlerror());
		return 1;
	}
	plugin = dlopen(argv[2], RTLD_NOW);
	if (!plugin) {
		fprintf(stderr, "dlopen_host: %s\n", dlerror());
		return 1;
	}
	*(void **)&run = dlsym(plugin, "plugin_run");
	if (!run) {
		fprintf(stderr, "dlopen_host: %s\n", dlerror());
		return 1;
	}
	if (run(why, sizeof(why))) {
		fprintf(stderr, "dlopen_host: %s\n", why);
		return 1;
	}
	printf("dlopen: libsluice.so loaded at run time, a pool used from two "
	       "threads\n");
	dlclose(plugin);
	dlclose(lib);
	return 0;
}
