/*
 * iovsh-xml.c: the disks of a domain's XML, read with libxml2. A module
 * (iovsh-xml.so) that iovsh loads on first use (iovsh.h, "Modules").
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "iovsh.h"

GPtrArray *iovshXMLModuleEntry(const char *xml);
GPtrArray *iovshXMLDroppedModuleEntry(const char *xml);
char *iovshXMLMediumModuleEntry(const char *xml, const char *target, const char *source);

/* The first element child of `node` called `name`, or NULL. */
static xmlNodePtr
childElement(xmlNodePtr node, const char *name)
{
    xmlNodePtr c;

    for (c = node ? node->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
            return c;
    }
    return NULL;
}

/* The attribute `name` of node as a new GLib string, or NULL. */
static char *
attribute(xmlNodePtr node, const char *name)
{
    xmlChar *v;
    char *ret;

    if (!node)
        return NULL;
    v = xmlGetProp(node, BAD_CAST name);
    if (!v)
        return NULL;
    ret = g_strdup((const char *)v);
    xmlFree(v);
    return ret;
}

/* The text content of `node` as a new GLib string, or NULL. */
static char *
content(xmlNodePtr node)
{
    xmlChar *v;
    char *ret;

    if (!node)
        return NULL;
    v = xmlNodeGetContent(node);
    ret = g_strdup((const char *)v);
    xmlFree(v);
    return ret;
}

/* The source of a <disk> as one string: a path, a network URL
 * (nbd://host:port/name, nbd+unix:///name?socket=PATH), or "-". */
static char *
diskSource(xmlNodePtr disk)
{
    xmlNodePtr src = childElement(disk, "source");
    xmlNodePtr host = childElement(src, "host");
    g_autofree char *file = attribute(src, "file");
    g_autofree char *dev = attribute(src, "dev");
    g_autofree char *protocol = attribute(src, "protocol");
    g_autofree char *name = attribute(src, "name");
    g_autofree char *hostname = attribute(host, "name");
    g_autofree char *port = attribute(host, "port");
    g_autofree char *socket = attribute(host, "socket");

    if (file)
        return g_steal_pointer(&file);
    if (dev)
        return g_steal_pointer(&dev);
    if (!protocol)
        return g_strdup("-");
    if (socket)
        return g_strdup_printf("%s+unix:///%s?socket=%s", protocol, name ? name : "", socket);
    return g_strdup_printf("%s://%s%s%s%s%s", protocol, hostname ? hostname : "", port ? ":" : "",
                           port ? port : "", name && name[0] != '/' ? "/" : "", name ? name : "");
}

/* The groups of a disk's <throttlefilters>, in order (a new GStrv). */
static char **
diskFilters(xmlNodePtr filters)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    xmlNodePtr c;

    for (c = filters ? filters->children : NULL; c; c = c->next) {
        char *group;

        if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "throttlefilter") != 0)
            continue;
        if ((group = attribute(c, "group")))
            g_ptr_array_add(out, group);
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* The disks of a domain definition (iovshDisksFromXML): the entry of this
 * module. */
GPtrArray *
iovshXMLModuleEntry(const char *xml)
{
    g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func((GDestroyNotify)iovshDiskFree);
    xmlDocPtr doc;
    xmlNodePtr devices, n;

    doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        iovshError("cannot parse the domain XML sent by the daemon");
        return NULL;
    }
    devices = childElement(xmlDocGetRootElement(doc), "devices");
    for (n = devices ? devices->children : NULL; n; n = n->next) {
        iovshDisk *disk;
        xmlNodePtr throttle, iotune;

        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "disk") != 0)
            continue;
        disk = g_new0(iovshDisk, 1);
        disk->target = attribute(childElement(n, "target"), "dev");
        if (!disk->target)
            disk->target = g_strdup("-");
        disk->source = diskSource(n);
        {
            g_autofree char *unplug = attribute(n, "unplug");

            disk->unplugPending = g_strcmp0(unplug, "pending") == 0;
        }
        throttle = childElement(n, "iothrottle");
        iotune = childElement(n, "iotune");
        if (throttle)
            disk->group = attribute(throttle, "group");
        else if (iotune)
            disk->group = content(childElement(iotune, "group_name"));
        if (!disk->group)
            disk->group = g_strdup("");
        disk->filters = diskFilters(childElement(n, "throttlefilters"));
        g_ptr_array_add(disks, disk);
    }
    xmlFreeDoc(doc);
    return g_steal_pointer(&disks);
}

/* What a libvirt import left out of the definition: its <dropped> items. */
GPtrArray *
iovshXMLDroppedModuleEntry(const char *xml)
{
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    xmlDocPtr doc;
    xmlNodePtr dropped, i;

    doc = xmlReadMemory(xml, strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        iovshError("cannot parse the domain XML sent by the daemon");
        return NULL;
    }
    dropped = childElement(xmlDocGetRootElement(doc), "dropped");
    for (i = dropped ? dropped->children : NULL; i; i = i->next) {
        xmlChar *text;

        if (i->type != XML_ELEMENT_NODE || xmlStrcmp(i->name, BAD_CAST "item") != 0)
            continue;
        text = xmlNodeGetContent(i);
        g_ptr_array_add(items, g_strdup((const char *)text));
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return g_steal_pointer(&items);
}

/* ---- change-media: a cdrom's document with another medium ---- */

/* The <disk> of `target` in the domain XML `xml`, its <source> replaced
 * by one naming `source` (none when NULL): a new document, or NULL after
 * printing an error. */
char *
iovshXMLMediumModuleEntry(const char *xml, const char *target, const char *source)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr devices = NULL, disk = NULL, n, c;
    xmlBufferPtr buf;
    char *out = NULL;

    if (!doc) {
        iovshError("cannot parse the domain XML sent by the daemon");
        return NULL;
    }
    for (n = xmlDocGetRootElement(doc)->children; n && !devices; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST "devices") == 0)
            devices = n;
    }
    for (n = devices ? devices->children : NULL; n && !disk; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "disk") != 0)
            continue;
        for (c = n->children; c; c = c->next) {
            xmlChar *dev;

            if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "target") != 0)
                continue;
            dev = xmlGetProp(c, BAD_CAST "dev");
            if (dev && strcmp((const char *)dev, target) == 0)
                disk = n;
            xmlFree(dev);
        }
    }
    if (!disk) {
        iovshError("the guest has no disk '%s'", target);
        xmlFreeDoc(doc);
        return NULL;
    }
    for (c = disk->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST "source") == 0) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
            break;
        }
    }
    if (source) {
        xmlChar *type = xmlGetProp(disk, BAD_CAST "type");
        xmlNodePtr src = xmlNewNode(NULL, BAD_CAST "source");
        bool block = type && xmlStrcmp(type, BAD_CAST "block") == 0;

        xmlNewProp(src, BAD_CAST(block ? "dev" : "file"), BAD_CAST source);
        xmlAddChild(disk, src);
        xmlFree(type);
    }
    buf = xmlBufferCreate();
    xmlNodeDump(buf, doc, disk, 0, 0);
    out = g_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return out;
}
