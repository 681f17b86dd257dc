/*
 * iovirt-xml-validate: check domain definitions offline
 *
 * Parses and validates each FILE, printing its canonical form on stdout,
 * or the error on stderr. Exit status 0 when every file is valid, 1
 * otherwise. Uses the public API only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "iovirt/iovirt.h"

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: iovirt-xml-validate [--from-libvirt] [--iotune] [--quiet] FILE...\n"
            "\n"
            "Parse and validate iovirt domain definitions without a daemon and print\n"
            "their canonical XML. Files a definition names need not exist.\n"
            "\n"
            "  --from-libvirt  read a libvirt domain XML (virsh dumpxml): what iovirt\n"
            "                  does not model is dropped and listed on stderr by XPath\n"
            "  --iotune        write limits as libvirt's <iotune> instead of <iothrottle>\n"
            "  --quiet         print nothing on success\n"
            "  --help          this text\n");
}

static int
checkFile(const char *path, unsigned int flags, bool quiet)
{
    g_autofree char *xml = NULL;
    g_autofree char *canonical = NULL;
    g_autofree char *dropped = NULL;
    g_autoptr(GError) gerr = NULL;

    if (!g_file_get_contents(path, &xml, NULL, &gerr)) {
        fprintf(stderr, "error: %s\n", gerr->message);
        return -1;
    }
    if (iovDomainXMLCanonicalize(xml, flags, &canonical, &dropped) < 0) {
        fprintf(stderr, "error: %s: %s\n", path, iovGetLastErrorMessage());
        return -1;
    }
    if (dropped && *dropped) {
        g_auto(GStrv) lines = g_strsplit(dropped, "\n", -1);
        char **l;

        for (l = lines; *l; l++) {
            if (**l)
                fprintf(stderr, "%s: dropped %s\n", path, *l);
        }
    }
    if (!quiet)
        fputs(canonical, stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    unsigned int flags = 0;
    bool quiet = false;
    int i, nfiles = 0, failed = 0;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--from-libvirt") == 0)
            flags |= IOV_DOMAIN_XML_FROM_LIBVIRT;
        else if (strcmp(a, "--iotune") == 0)
            flags |= IOV_DOMAIN_XML_LIBVIRT_IOTUNE;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            quiet = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "error: unknown option '%s'\n", a);
            usage(stderr);
            return 1;
        } else {
            break;
        }
    }
    for (; i < argc; i++) {
        nfiles++;
        if (checkFile(argv[i], flags, quiet) < 0)
            failed++;
    }
    if (nfiles == 0) {
        usage(stderr);
        return 1;
    }
    return failed ? 1 : 0;
}
