/*
 * iovsh-xml.c: what iovsh reads or edits in a domain's XML with libxml2
 * (the items an import dropped; a cdrom's <disk> with another medium). A
 * module (iovsh-xml.so) that iovsh loads on first use (iovsh.h,
 * "Modules"); the disks themselves come from the daemon's list of them.
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "iovsh.h"

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
