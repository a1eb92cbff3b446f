/* The field tree of proof format taxledger.proof/v2 (fieldtree.py holds the reference and the
 * format's definition), compiled: the commit path (fields_digest, and commit_v2 for the hashes
 * commitment.py's commit_record_v2 makes of it), the complete tree a bundle
 * carries (build_tree) and the digest of a tree, whole or partial, checking on the way each
 * disclosed value against the digest its bundle states (tree_digest, for the verifier).
 *
 * Each function answers exactly as the reference does or declines (returns None), and then the
 * reference runs and says what is wrong: records with floats, integers beyond 2^53 - 1, lone
 * surrogates, keys that are not str, other types, paths longer than 65,535 bytes or trees
 * deeper than MAX_DEPTH. tests/records/test_fieldtree.py holds them to it.
 *
 * A tree is hashed in two passes. The walk lays out every node in pre-order (the order its
 * salts are drawn in): a value's whole hash input, an object's or array's input up to its
 * count, and the indices of its children. Then the nodes are hashed as a dataflow, several
 * sponges side by side (keccak_f1600_wide): the salt stream's, and each node's once its salt
 * is drawn and its children are hashed (hash_nodes).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdlib.h>
#include <string.h>

#include "_keccak.h"

enum kind { VALUE_NODE = 0, OBJECT_NODE = 1, ARRAY_NODE = 2, HIDDEN_NODE = 3 };

/* What a step of the walk returns besides -1 (a Python exception is set). */
#define WALKED 0
#define DECLINED 1

#define MAX_DEPTH 64
#define SALT_SIZE 32
#define MAX_PATH 65535
#define JSON_INT_LIMIT 9007199254740991LL /* 2^53 - 1 */

/* The domain prefix of the salt stream: SHAKE256(SALT_DOMAIN || master salt). */
static const char SALT_DOMAIN[] = "taxledger.proof/v2";

typedef struct {
    enum kind kind;
    /* Offset and size of its hash input in the arena; an object's or array's stops after its
     * count, and its children's digests follow when it is hashed. */
    size_t input, size;
    size_t salt_size;
    /* Where its children's indices start in `children`, and how many. */
    size_t first_child, count;
    /* Borrowed: the record's value (build), or the node (digest); a member's key, or NULL. */
    PyObject *source, *key;
    /* Borrowed: the digest a disclosed value states (digest with checks), else NULL. */
    PyObject *stated;
    /* While hashing: its parent (NO_NODE for the root) and its place among the parent's
     * children; for an object or array, where its whole input is assembled and how many of
     * its first children's digests are in place there; whether it is hashed. */
    size_t parent, place, joined, prefix;
    int done;
} tree_node;

#define NO_NODE ((size_t)-1)

typedef struct {
    tree_node *nodes;
    size_t node_count, node_room;
    size_t *children;
    size_t child_count, child_room;
    uint8_t *arena;
    size_t arena_size, arena_room;
    char *path;
    size_t path_size, path_room;
    uint8_t (*digests)[32];
    /* The master salt whose SHAKE256 stream salts the nodes while they are hashed, or NULL
     * (each node's input holds its salt already); the commitment's salt drawn from it. */
    const uint8_t *master;
    uint8_t commitment_salt[SALT_SIZE];
    /* A message hashed with the tree, side by side with its nodes (commit_v2's subjects), or
     * NULL; its digest. */
    const uint8_t *extra;
    size_t extra_size;
    uint8_t extra_digest[32];
    /* The buffers' first storage, enough for most records: then nothing is allocated. */
    tree_node nodes_space[64];
    size_t children_space[64];
    uint8_t arena_space[4096];
    char path_space[256];
    uint8_t digest_space[64][32];
} walk;

static void
walk_start(walk *w)
{
    w->nodes = w->nodes_space;
    w->node_count = 0;
    w->node_room = sizeof w->nodes_space / sizeof w->nodes_space[0];
    w->children = w->children_space;
    w->child_count = 0;
    w->child_room = sizeof w->children_space / sizeof w->children_space[0];
    w->arena = w->arena_space;
    w->arena_size = 0;
    w->arena_room = sizeof w->arena_space;
    w->path = w->path_space;
    w->path_size = 0;
    w->path_room = sizeof w->path_space;
    w->digests = NULL;
    w->master = NULL;
    w->extra = NULL;
}

/* Node classes of fieldtree.py, and the slots read and written here. */
static PyTypeObject *ValueNode, *ObjectNode, *ArrayNode, *Hidden;
static PyMemberDef *VALUE_SALT, *VALUE_VALUE, *VALUE_DIGEST, *OBJECT_SALT, *OBJECT_MEMBERS,
    *ARRAY_SALT, *ARRAY_ITEMS, *HIDDEN_DIGEST;

/* A slot of a node object, borrowed (the node holds it); NULL if unset. */
static PyObject *
slot(PyObject *node, PyMemberDef *member)
{
    return *(PyObject **)((char *)node + member->offset);
}

/* True if a function got `count` arguments; else a TypeError naming its signature. */
static int
arity(Py_ssize_t nargs, Py_ssize_t count, const char *signature)
{
    if (nargs == count)
        return 1;
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", signature, count);
    return 0;
}

/* --- growing buffers ------------------------------------------------------------------- */

/* Room for `needed` items of `item` bytes in *buffer, which starts in `first`, the walk's own
 * storage, and moves to the heap when it outgrows it. */
static int
grow(void **buffer, size_t *room, size_t needed, size_t item, void *first)
{
    if (needed <= *room)
        return 0;
    size_t next = *room;
    while (next < needed)
        next *= 2;
    void *grown = *buffer == first ? malloc(next * item) : realloc(*buffer, next * item);
    if (!grown) {
        PyErr_NoMemory();
        return -1;
    }
    if (*buffer == first)
        memcpy(grown, first, *room * item);
    *buffer = grown;
    *room = next;
    return 0;
}

#define GROW(w, buffer, room, needed)                                                          \
    grow((void **)&(w)->buffer, &(w)->room, (needed), sizeof *(w)->buffer, (w)->buffer##_space)

/* Room for `extra` more bytes in the arena; a pointer to where they go. */
static uint8_t *
arena_reserve(walk *w, size_t extra)
{
    if (GROW(w, arena, arena_room, w->arena_size + extra) < 0)
        return NULL;
    return w->arena + w->arena_size;
}

static int
arena_append(walk *w, const void *data, size_t size)
{
    uint8_t *at = arena_reserve(w, size);
    if (!at)
        return -1;
    memcpy(at, data, size);
    w->arena_size += size;
    return 0;
}

static void
walk_free(walk *w)
{
    if (w->nodes != w->nodes_space)
        free(w->nodes);
    if (w->children != w->children_space)
        free(w->children);
    if (w->arena != w->arena_space)
        free(w->arena);
    if (w->path != w->path_space)
        free(w->path);
    if (w->digests != w->digest_space)
        free(w->digests);
}

/* --- paths ----------------------------------------------------------------------------- */

/* Appends `.key` (or `key` at the root) to the path; its old size in *mark. */
static int
push_key(walk *w, const char *key, size_t size, size_t *mark)
{
    *mark = w->path_size;
    if (GROW(w, path, path_room, w->path_size + size + 1) < 0)
        return -1;
    if (w->path_size)
        w->path[w->path_size++] = '.';
    memcpy(w->path + w->path_size, key, size);
    w->path_size += size;
    return 0;
}

static int
push_index(walk *w, Py_ssize_t index, size_t *mark)
{
    char text[24];
    int size = snprintf(text, sizeof text, "[%zd]", index);
    *mark = w->path_size;
    if (GROW(w, path, path_room, w->path_size + (size_t)size) < 0)
        return -1;
    memcpy(w->path + w->path_size, text, (size_t)size);
    w->path_size += (size_t)size;
    return 0;
}

/* --- hash inputs ----------------------------------------------------------------------- */

/* The next node of the walk, cleared; NULL when out of memory. */
static tree_node *
next_node(walk *w, enum kind kind)
{
    if (GROW(w, nodes, node_room, w->node_count + 1) < 0)
        return NULL;
    tree_node *node = &w->nodes[w->node_count];
    memset(node, 0, sizeof *node);
    node->kind = kind;
    return node;
}

/* A new node whose hash input starts `kind || salt || uint16_be(len(path)) || path`. */
static int
start_node(walk *w, enum kind kind, const uint8_t *salt, size_t salt_size, size_t *index)
{
    if (w->path_size > MAX_PATH)
        return DECLINED;
    tree_node *node = next_node(w, kind);
    if (!node)
        return -1;
    node->input = w->arena_size;
    node->salt_size = salt_size;
    uint8_t *at = arena_reserve(w, 1 + salt_size + 2 + w->path_size);
    if (!at)
        return -1;
    at[0] = (uint8_t)kind;
    memcpy(at + 1, salt, salt_size);
    at[1 + salt_size] = (uint8_t)(w->path_size >> 8);
    at[2 + salt_size] = (uint8_t)w->path_size;
    memcpy(at + 3 + salt_size, w->path, w->path_size);
    w->arena_size += 1 + salt_size + 2 + w->path_size;
    *index = w->node_count++;
    return WALKED;
}

/* An object's or array's count, and room for its children's indices. */
static int
add_count(walk *w, size_t index, size_t count)
{
    uint8_t be[4] = {(uint8_t)(count >> 24), (uint8_t)(count >> 16), (uint8_t)(count >> 8),
                     (uint8_t)count};
    if (count > 0xFFFFFFFFu)
        return DECLINED;
    if (arena_append(w, be, 4) < 0)
        return -1;
    if (GROW(w, children, child_room, w->child_count + count) < 0)
        return -1;
    w->nodes[index].first_child = w->child_count;
    w->nodes[index].count = count;
    w->child_count += count;
    return WALKED;
}

static void
end_node(walk *w, size_t index)
{
    w->nodes[index].size = w->arena_size - w->nodes[index].input;
}

static int append_scalar(walk *w, PyObject *value);

/* A value node's JSON after its path: its input is complete. */
static int
end_value(walk *w, size_t index, PyObject *value)
{
    int result = append_scalar(w, value);
    if (result == WALKED)
        end_node(w, index);
    return result;
}

/* An object's or array's count: its input is complete but for its children's digests, whose
 * indices go from *first on. */
static int
end_inner(walk *w, size_t index, size_t count, size_t *first)
{
    int result = add_count(w, index, count);
    if (result == WALKED) {
        end_node(w, index);
        *first = w->nodes[index].first_child;
    }
    return result;
}

/* The RFC 8785 bytes of a scalar, appended: strings, booleans, null and integers within
 * ±(2^53 - 1), as fieldtree.py's canonical_bytes writes them; anything else declined. */
static int
append_scalar(walk *w, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        Py_ssize_t size;
        const char *text = PyUnicode_AsUTF8AndSize(value, &size);
        if (!text) {
            PyErr_Clear(); /* a lone surrogate: the reference says so */
            return DECLINED;
        }
        uint8_t *out = arena_reserve(w, 6 * (size_t)size + 2);
        if (!out)
            return -1;
        uint8_t *start = out;
        *out++ = '"';
        for (Py_ssize_t i = 0; i < size; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c >= 0x20 && c != '"' && c != '\\') {
                *out++ = c;
                continue;
            }
            *out++ = '\\';
            switch (c) {
            case '"': *out++ = '"'; break;
            case '\\': *out++ = '\\'; break;
            case '\b': *out++ = 'b'; break;
            case '\f': *out++ = 'f'; break;
            case '\n': *out++ = 'n'; break;
            case '\r': *out++ = 'r'; break;
            case '\t': *out++ = 't'; break;
            default:
                *out++ = 'u';
                *out++ = '0';
                *out++ = '0';
                *out++ = "0123456789abcdef"[c >> 4];
                *out++ = "0123456789abcdef"[c & 15];
            }
        }
        *out++ = '"';
        w->arena_size += (size_t)(out - start);
        return WALKED;
    }
    if (value == Py_True)
        return arena_append(w, "true", 4) < 0 ? -1 : WALKED;
    if (value == Py_False)
        return arena_append(w, "false", 5) < 0 ? -1 : WALKED;
    if (value == Py_None)
        return arena_append(w, "null", 4) < 0 ? -1 : WALKED;
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow || number > JSON_INT_LIMIT || number < -JSON_INT_LIMIT)
            return DECLINED;
        char text[24];
        int size = snprintf(text, sizeof text, "%lld", number);
        return arena_append(w, text, (size_t)size) < 0 ? -1 : WALKED;
    }
    return DECLINED;
}

/* --- the walk of a record -------------------------------------------------------------- */

typedef struct {
    const char *text;
    Py_ssize_t size;
    PyObject *key, *value;
} member;

/* Code point order, which is the order of the UTF-8 bytes. */
static int
member_order(const void *a, const void *b)
{
    const member *x = a, *y = b;
    Py_ssize_t common = x->size < y->size ? x->size : y->size;
    int order = memcmp(x->text, y->text, (size_t)common);
    return order ? order : (x->size > y->size) - (x->size < y->size);
}

static int
field_name(const char *text, Py_ssize_t size)
{
    if (!size)
        return 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int walk_value(walk *w, PyObject *value, PyObject *key, int depth, size_t *index);

static int
walk_members(walk *w, PyObject *object, size_t index, int depth)
{
    Py_ssize_t count = PyDict_GET_SIZE(object);
    member local[32];
    member *members = count <= 32 ? local : malloc(sizeof(member) * (size_t)count);
    if (!members) {
        PyErr_NoMemory();
        return -1;
    }
    int result = WALKED;
    Py_ssize_t position = 0, n = 0;
    PyObject *key, *value;
    while (PyDict_Next(object, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            result = DECLINED;
            goto done;
        }
        const char *text = PyUnicode_AsUTF8AndSize(key, &members[n].size);
        if (!text) {
            PyErr_Clear();
            result = DECLINED;
            goto done;
        }
        if (!field_name(text, members[n].size)) { /* the reference words it */
            result = DECLINED;
            goto done;
        }
        members[n].text = text;
        members[n].key = key;
        members[n].value = value;
        n++;
    }
    if (n > 1) {
        /* Insertion sort for the few members of a record's objects. */
        if (n <= 16) {
            for (Py_ssize_t i = 1; i < n; i++) {
                member moving = members[i];
                Py_ssize_t j = i;
                for (; j > 0 && member_order(&members[j - 1], &moving) > 0; j--)
                    members[j] = members[j - 1];
                members[j] = moving;
            }
        }
        else
            qsort(members, (size_t)n, sizeof(member), member_order);
    }
    size_t first;
    result = end_inner(w, index, (size_t)n, &first);
    if (result != WALKED)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t mark, child;
        if (push_key(w, members[i].text, (size_t)members[i].size, &mark) < 0) {
            result = -1;
            goto done;
        }
        result = walk_value(w, members[i].value, members[i].key, depth + 1, &child);
        w->path_size = mark;
        if (result != WALKED)
            goto done;
        w->children[first + (size_t)i] = child;
    }
done:
    if (members != local)
        free(members);
    return result;
}

static int
walk_value(walk *w, PyObject *value, PyObject *key, int depth, size_t *index)
{
    if (depth > MAX_DEPTH)
        return DECLINED;
    /* Its salt comes from the stream while the tree is hashed (hash_nodes). */
    static const uint8_t unsalted[SALT_SIZE];
    enum kind kind = PyDict_CheckExact(value)   ? OBJECT_NODE
                     : PyList_CheckExact(value) ? ARRAY_NODE
                                                : VALUE_NODE;
    int result = start_node(w, kind, unsalted, SALT_SIZE, index);
    if (result != WALKED)
        return result;
    size_t at = *index;
    w->nodes[at].source = value;
    w->nodes[at].key = key;
    if (kind == OBJECT_NODE)
        return walk_members(w, value, at, depth);
    if (kind == VALUE_NODE)
        return end_value(w, at, value);
    Py_ssize_t count = PyList_GET_SIZE(value);
    size_t first;
    result = end_inner(w, at, (size_t)count, &first);
    if (result != WALKED)
        return result;
    for (Py_ssize_t i = 0; i < count; i++) {
        size_t mark, child;
        if (push_index(w, i, &mark) < 0)
            return -1;
        result = walk_value(w, PyList_GET_ITEM(value, i), NULL, depth + 1, &child);
        w->path_size = mark;
        if (result != WALKED)
            return result;
        w->children[first + (size_t)i] = child;
    }
    return WALKED;
}

/* --- hashing --------------------------------------------------------------------------- */

/* A sponge of hash_nodes: a node's, the extra message's or the salt stream's. */
typedef struct {
    uint64_t state[25];
    /* Blocks absorbed (drawn, for the stream) so far. */
    size_t block;
} sponge;

/* How many bytes of node i's input are in place: an object's or array's are its own part and
 * the digests of its first children that are hashed. */
static size_t
input_ready(const walk *w, size_t i)
{
    const tree_node *node = &w->nodes[i];
    return node->kind == VALUE_NODE ? node->size : node->size + 32 * node->prefix;
}

static size_t
input_size(const walk *w, size_t i)
{
    const tree_node *node = &w->nodes[i];
    return node->kind == VALUE_NODE ? node->size : node->size + 32 * node->count;
}

/* Node i's digest is known: it takes its place in its parent's input. */
static void
hashed(walk *w, size_t i, uint8_t *joined)
{
    tree_node *node = &w->nodes[i];
    node->done = 1;
    if (node->parent == NO_NODE)
        return;
    tree_node *parent = &w->nodes[node->parent];
    memcpy(joined + parent->joined + parent->size + 32 * node->place, w->digests[i], 32);
    while (parent->prefix < parent->count &&
           w->nodes[w->children[parent->first_child + parent->prefix]].done)
        parent->prefix++;
}

/* Node i's salt is in its input: it may start to be hashed (an object or array block by block,
 * as its children's digests arrive). */
static void
salted(walk *w, size_t i, uint8_t *joined, size_t *open, size_t *opened)
{
    tree_node *node = &w->nodes[i];
    if (node->kind == HIDDEN_NODE)
        return;
    if (node->kind != VALUE_NODE)
        memcpy(joined + node->joined, w->arena + node->input, node->size);
    open[(*opened)++] = i;
}

/* Every node's digest into w->digests (and the extra message's into w->extra_digest), as a
 * dataflow of sponges, up to keccak_wide_width() of them permuted side by side each step: the
 * salt stream's (one block a step, in order), each value's once the stream gives its salt, and
 * each object's or array's a block at a time as soon as that block's children are hashed — so
 * the stream's sequential blocks cost about what the values alone would, and a root of several
 * blocks is nearly absorbed when its last member is hashed. */
static int
hash_nodes(walk *w)
{
    size_t count = w->node_count;
    const size_t extra_job = count, salts_job = count + 1;
    sponge local_sponges[66];
    size_t local_open[66];
    uint8_t local_joined[4096], local_stream[4096 + KECCAK_RATE];
    sponge *sponges = local_sponges;
    size_t *open = local_open;
    uint8_t *joined = local_joined, *stream = local_stream;
    int result = -1;
    w->digests = count <= 64 ? w->digest_space : malloc(32 * count);
    if (count + 2 > sizeof local_open / sizeof local_open[0]) {
        sponges = malloc(sizeof(sponge) * (count + 2));
        open = malloc(sizeof(size_t) * (count + 2));
    }
    size_t joined_size = 0;
    for (size_t i = 0; i < count; i++) {
        tree_node *node = &w->nodes[i];
        node->parent = NO_NODE;
        node->prefix = 0;
        node->done = 0;
        if (node->kind == OBJECT_NODE || node->kind == ARRAY_NODE) {
            node->joined = joined_size;
            joined_size += node->size + 32 * node->count;
        }
    }
    size_t stream_size = w->master ? SALT_SIZE * (count + 1) : 0;
    if (joined_size > sizeof local_joined)
        joined = malloc(joined_size);
    if (stream_size + KECCAK_RATE > sizeof local_stream)
        stream = malloc(stream_size + KECCAK_RATE);
    if (!w->digests || !sponges || !open || !joined || !stream) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        tree_node *node = &w->nodes[i];
        for (size_t c = 0; c < node->count; c++) {
            tree_node *child = &w->nodes[w->children[node->first_child + c]];
            child->parent = i;
            child->place = c;
        }
    }
    for (size_t i = count; i-- > 0;)
        if (w->nodes[i].kind == HIDDEN_NODE) {
            memcpy(w->digests[i], PyBytes_AS_STRING(slot(w->nodes[i].source, HIDDEN_DIGEST)), 32);
            hashed(w, i, joined);
        }
    /* The open sponges in the order they are served: the stream, the extra message, then the
     * nodes as their salts are drawn (pre-order: an object before its members). */
    size_t opened = 0, left = 0, produced = 0, drawn = 0;
    if (w->master) {
        uint8_t seed[sizeof SALT_DOMAIN - 1 + SALT_SIZE];
        memcpy(seed, SALT_DOMAIN, sizeof SALT_DOMAIN - 1);
        memcpy(seed + sizeof SALT_DOMAIN - 1, w->master, SALT_SIZE);
        keccak_wide first;
        memset(&first, 0, sizeof first);
        keccak_wide_absorb(&first, 0, seed, sizeof seed, 0, 0x1F);
        keccak_wide_store(&first, 0, sponges[salts_job].state);
        open[opened++] = salts_job;
    }
    if (w->extra) {
        open[opened++] = extra_job;
        left++;
    }
    for (size_t i = 0; i < count; i++) {
        left += w->nodes[i].kind != HIDDEN_NODE;
        memset(sponges[i].state, 0, sizeof sponges[i].state);
        sponges[i].block = 0;
        if (!w->master)
            salted(w, i, joined, open, &opened);
    }
    memset(sponges[extra_job].state, 0, sizeof sponges[extra_job].state);
    sponges[extra_job].block = sponges[salts_job].block = 0;
    size_t width = keccak_wide_width();
    keccak_wide wide;
    while (left || produced < stream_size) {
        /* (1) Up to `width` open sponges whose next block is in place, the first ones first. */
        size_t picked[KECCAK_WIDE], n = 0;
        for (size_t o = 0; o < opened && n < width; o++) {
            size_t job = open[o];
            if (job < count) {
                size_t have = input_ready(w, job), size = input_size(w, job);
                if (have < size && have < KECCAK_RATE * (sponges[job].block + 1))
                    continue;
            }
            picked[n] = job;
            keccak_wide_load(&wide, n, sponges[job].state);
            if (job == extra_job)
                keccak_wide_absorb(&wide, n, w->extra, w->extra_size, sponges[job].block, 0x01);
            else if (job != salts_job)
                keccak_wide_absorb(&wide, n,
                                   w->nodes[job].kind == VALUE_NODE
                                       ? w->arena + w->nodes[job].input
                                       : joined + w->nodes[job].joined,
                                   input_size(w, job), sponges[job].block, 0x01);
            n++;
        }
        if (!n) {
            PyErr_SetString(PyExc_SystemError, "field tree: a node can never be hashed");
            goto done;
        }
        /* (2) their permutation, side by side */
        keccak_f1600_wide(&wide, n);
        /* (3) what each gives: a block of salts, or a digest once its last block is in */
        for (size_t k = 0; k < n; k++) {
            size_t job = picked[k];
            sponge *sp = &sponges[job];
            sp->block++;
            if (job == salts_job) {
                keccak_wide_store(&wide, k, sp->state);
                keccak_wide_read(&wide, k, stream + produced, KECCAK_RATE);
                if (!produced)
                    memcpy(w->commitment_salt, stream, SALT_SIZE);
                produced += KECCAK_RATE;
                for (; drawn < count && SALT_SIZE * (drawn + 2) <= produced; drawn++) {
                    memcpy(w->arena + w->nodes[drawn].input + 1,
                           stream + SALT_SIZE * (drawn + 1), SALT_SIZE);
                    salted(w, drawn, joined, open, &opened);
                }
                continue;
            }
            size_t size = job == extra_job ? w->extra_size : input_size(w, job);
            if (sp->block <= size / KECCAK_RATE) {
                keccak_wide_store(&wide, k, sp->state);
                continue;
            }
            left--;
            if (job == extra_job) {
                keccak_wide_read(&wide, k, w->extra_digest, 32);
                continue;
            }
            keccak_wide_read(&wide, k, w->digests[job], 32);
            hashed(w, job, joined);
        }
        /* (4) the finished sponges leave the open list, the others keep their order */
        size_t kept = 0;
        for (size_t o = 0; o < opened; o++) {
            size_t job = open[o];
            int finished = job == salts_job ? produced >= stream_size
                           : job == extra_job
                               ? sponges[job].block > w->extra_size / KECCAK_RATE
                               : w->nodes[job].done;
            if (!finished)
                open[kept++] = job;
        }
        opened = kept;
    }
    result = 0;
done:
    if (sponges != local_sponges) {
        free(sponges);
        free(open);
    }
    if (joined != local_joined)
        free(joined);
    if (stream != local_stream)
        free(stream);
    return result;
}

static PyObject *
digest_bytes(const uint8_t digest[32])
{
    return PyBytes_FromStringAndSize((const char *)digest, 32);
}

/* Walks `record` under the salt stream of `master`; WALKED, DECLINED or -1. */
static int
walk_record(walk *w, PyObject *record, PyObject *master, uint8_t commitment_salt[SALT_SIZE])
{
    if (!PyDict_CheckExact(record) || !PyBytes_CheckExact(master) ||
        PyBytes_GET_SIZE(master) != SALT_SIZE)
        return DECLINED;
    size_t root;
    int result = walk_value(w, record, NULL, 0, &root);
    if (result != WALKED)
        return result;
    w->master = (const uint8_t *)PyBytes_AS_STRING(master);
    if (hash_nodes(w) < 0)
        return -1;
    memcpy(commitment_salt, w->commitment_salt, SALT_SIZE);
    return WALKED;
}

static PyObject *
fields_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!arity(nargs, 2, "fields_digest(record, master)"))
        return NULL;
    walk w;
    walk_start(&w);
    uint8_t salt[SALT_SIZE];
    int result = walk_record(&w, args[0], args[1], salt);
    PyObject *answer = NULL;
    if (result == WALKED)
        answer = Py_BuildValue("(y#y#)", salt, (Py_ssize_t)SALT_SIZE, w.digests[0],
                               (Py_ssize_t)32);
    else if (result == DECLINED)
        answer = Py_NewRef(Py_None);
    walk_free(&w);
    return answer;
}

/* keccak256 of the concatenation of `count` byte strings. */
static void
keccak_of(const uint8_t *const *parts, const size_t *sizes, size_t count, uint8_t digest[32])
{
    keccak_sponge sponge;
    keccak_start(&sponge);
    for (size_t i = 0; i < count; i++)
        keccak_absorb(&sponge, parts[i], sizes[i]);
    keccak256_finish(&sponge, digest);
}

/* --- subjects ------------------------------------------------------------------------- */

/* commitment.py's SubjectTag, and the slots read here. */
static PyTypeObject *SubjectTag;
static PyMemberDef *TAG_DOMAIN, *TAG_VERSION, *TAG_VALUE;

/* Domain ids (keccak256 of the name's UTF-8) of the domains seen last, each name held. */
#define DOMAIN_IDS 16
static struct {
    PyObject *name;
    uint8_t id[32];
} domain_ids[DOMAIN_IDS];
static size_t next_domain_id;

/* The id of domain `name` (a str), from the cache or hashed into it; NULL if it has no UTF-8
 * form (the reference says so). */
static const uint8_t *
domain_id(PyObject *name)
{
    for (size_t i = 0; i < DOMAIN_IDS; i++)
        if (domain_ids[i].name == name)
            return domain_ids[i].id;
    for (size_t i = 0; i < DOMAIN_IDS; i++)
        if (domain_ids[i].name && PyUnicode_Compare(domain_ids[i].name, name) == 0)
            return domain_ids[i].id;
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(name, &size);
    if (!text) {
        PyErr_Clear();
        return NULL;
    }
    size_t at = next_domain_id++ % DOMAIN_IDS;
    const uint8_t *parts[] = {(const uint8_t *)text};
    const size_t sizes[] = {(size_t)size};
    keccak_of(parts, sizes, 1, domain_ids[at].id);
    Py_XSETREF(domain_ids[at].name, Py_NewRef(name));
    return domain_ids[at].id;
}

/* The subjects' message of commitment.py's subjects_message, 0x03 || uint32_be(n) ||
 * (domain_id || uint32_be(version) || tag) x n, from a list or tuple of SubjectTag; its size,
 * or 0 for what the reference is left to decide (or word). *message is `local` or allocated. */
static size_t
subjects_message(PyObject *tags, uint8_t *local, size_t room, uint8_t **message)
{
    if (!SubjectTag || !(PyList_CheckExact(tags) || PyTuple_CheckExact(tags)))
        return 0;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(tags);
    PyObject **items = PySequence_Fast_ITEMS(tags);
    size_t size = 5 + 68 * (size_t)count;
    if (count > 0xFFFFFF)
        return 0;
    *message = size <= room ? local : malloc(size);
    if (!*message)
        return 0;
    uint8_t *at = *message;
    *at++ = 0x03;
    for (int shift = 24; shift >= 0; shift -= 8)
        *at++ = (uint8_t)((size_t)count >> shift);
    for (Py_ssize_t i = 0; i < count; i++, at += 68) {
        PyObject *tag = items[i];
        if (Py_TYPE(tag) != SubjectTag)
            goto declined;
        PyObject *domain = slot(tag, TAG_DOMAIN), *version = slot(tag, TAG_VERSION),
                 *value = slot(tag, TAG_VALUE);
        if (!domain || !PyUnicode_CheckExact(domain) || !version || !PyLong_CheckExact(version) ||
            !value || !PyBytes_CheckExact(value) || PyBytes_GET_SIZE(value) != 32)
            goto declined;
        unsigned long long number = PyLong_AsUnsignedLongLong(version);
        if (number == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            goto declined;
        }
        const uint8_t *id = number <= 0xFFFFFFFFu ? domain_id(domain) : NULL;
        if (!id)
            goto declined;
        memcpy(at, id, 32);
        for (int b = 0; b < 4; b++)
            at[32 + b] = (uint8_t)(number >> (24 - 8 * b));
        memcpy(at + 36, PyBytes_AS_STRING(value), 32);
    }
    return size;
declined:
    if (*message != local)
        free(*message);
    return 0;
}

static PyMemberDef *slot_of(PyTypeObject *type, const char *name);

static PyObject *
use_tag_type(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "use_tag_type() takes a class");
        return NULL;
    }
    PyTypeObject *tag = (PyTypeObject *)type;
    if (!(TAG_DOMAIN = slot_of(tag, "domain")) || !(TAG_VERSION = slot_of(tag, "version")) ||
        !(TAG_VALUE = slot_of(tag, "tag")))
        return NULL;
    Py_XSETREF(SubjectTag, (PyTypeObject *)Py_NewRef(tag));
    Py_RETURN_NONE;
}

/* commitment.py's commit_record_v2 from the subject tags (their digest hashed beside the tree's
 * nodes): the record hash keccak256(0x04 || fields_digest || subjects_digest), the commitment
 * keccak256(schema_id || commitment salt || record hash) and the leaf
 * keccak256(keccak256(schema_id || commitment)). */
static PyObject *
commit_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!arity(nargs, 4, "commit_v2(record, master, schema_id, tags)"))
        return NULL;
    if (!PyBytes_CheckExact(args[2]) || PyBytes_GET_SIZE(args[2]) != 32)
        Py_RETURN_NONE;
    const uint8_t *schema_id = (const uint8_t *)PyBytes_AS_STRING(args[2]);
    uint8_t local[5 + 68 * 8], *message;
    size_t message_size = subjects_message(args[3], local, sizeof local, &message);
    if (!message_size)
        Py_RETURN_NONE;
    walk w;
    walk_start(&w);
    w.extra = message;
    w.extra_size = message_size;
    uint8_t salt[SALT_SIZE];
    int result = walk_record(&w, args[0], args[1], salt);
    PyObject *answer = NULL;
    if (result == WALKED) {
        static const uint8_t record_node = 0x04;
        uint8_t record_hash[32], binding[32], inner[32], leaf[32];
        const uint8_t *hash_parts[] = {&record_node, w.digests[0], w.extra_digest};
        const size_t hash_sizes[] = {1, 32, 32};
        keccak_of(hash_parts, hash_sizes, 3, record_hash);
        const uint8_t *binding_parts[] = {schema_id, salt, record_hash};
        const size_t sizes[] = {32, 32, 32};
        keccak_of(binding_parts, sizes, 3, binding);
        const uint8_t *leaf_parts[] = {schema_id, binding};
        keccak_of(leaf_parts, sizes, 2, inner);
        const uint8_t *outer[] = {inner};
        keccak_of(outer, sizes, 1, leaf);
        answer = Py_BuildValue("(y#y#y#)", record_hash, (Py_ssize_t)32, binding, (Py_ssize_t)32,
                               leaf, (Py_ssize_t)32);
    }
    else if (result == DECLINED)
        answer = Py_NewRef(Py_None);
    walk_free(&w);
    if (message != local)
        free(message);
    return answer;
}

/* --- node objects ---------------------------------------------------------------------- */

/* A new instance of a node class with its one, two or three slots set (each reference stolen,
 * even on error);
 * as `object.__new__` and the slots' descriptors would, without the frozen `__init__`. */
static PyObject *
new_node(PyTypeObject *type, PyMemberDef *first, PyObject *a, PyMemberDef *second, PyObject *b,
         PyMemberDef *third, PyObject *c)
{
    PyObject *node = NULL;
    if (!a || (second && !b) || (third && !c))
        goto fail;
    node = type->tp_alloc(type, 0);
    if (!node || PyMember_SetOne((char *)node, first, a) < 0 ||
        (second && PyMember_SetOne((char *)node, second, b) < 0) ||
        (third && PyMember_SetOne((char *)node, third, c) < 0))
        goto fail;
    Py_DECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return node;
fail:
    Py_XDECREF(node);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return NULL;
}

static PyObject *
salt_of(walk *w, tree_node *node)
{
    return PyBytes_FromStringAndSize((const char *)w->arena + node->input + 1,
                                     (Py_ssize_t)node->salt_size);
}

/* The node objects of a walked record, from the last to the first; the root's. */
static PyObject *
make_nodes(walk *w)
{
    size_t count = w->node_count;
    PyObject **made = calloc(count ? count : 1, sizeof(PyObject *));
    if (!made)
        return PyErr_NoMemory();
    PyObject *root = NULL;
    for (size_t i = count; i-- > 0;) {
        tree_node *node = &w->nodes[i];
        if (node->kind == VALUE_NODE) {
            made[i] = new_node(ValueNode, VALUE_SALT, salt_of(w, node), VALUE_VALUE,
                               Py_NewRef(node->source), VALUE_DIGEST, digest_bytes(w->digests[i]));
        }
        else {
            PyObject *children = PyTuple_New((Py_ssize_t)node->count);
            if (!children)
                goto done;
            for (size_t c = 0; c < node->count; c++) {
                size_t child = w->children[node->first_child + c];
                PyObject *item = made[child];
                made[child] = NULL;
                if (node->kind == OBJECT_NODE) {
                    PyObject *pair = PyTuple_Pack(2, w->nodes[child].key, item);
                    Py_DECREF(item);
                    if (!pair) {
                        Py_DECREF(children);
                        goto done;
                    }
                    item = pair;
                }
                PyTuple_SET_ITEM(children, (Py_ssize_t)c, item);
            }
            made[i] = node->kind == OBJECT_NODE
                          ? new_node(ObjectNode, OBJECT_SALT, salt_of(w, node), OBJECT_MEMBERS,
                                     children, NULL, NULL)
                          : new_node(ArrayNode, ARRAY_SALT, salt_of(w, node), ARRAY_ITEMS,
                                     children, NULL, NULL);
        }
        if (!made[i])
            goto done;
    }
    root = made[0];
    made[0] = NULL;
done:
    for (size_t i = 0; i < count; i++)
        Py_XDECREF(made[i]);
    free(made);
    return root;
}

static int
node_types_known(void)
{
    if (ValueNode)
        return 1;
    PyErr_SetString(PyExc_RuntimeError, "use_node_types() was not called");
    return 0;
}

static PyObject *
build_tree(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!arity(nargs, 2, "build_tree(record, master)"))
        return NULL;
    if (!node_types_known())
        return NULL;
    walk w;
    walk_start(&w);
    uint8_t salt[SALT_SIZE];
    int result = walk_record(&w, args[0], args[1], salt);
    PyObject *answer = NULL;
    if (result == WALKED) {
        PyObject *tree = make_nodes(&w);
        if (tree)
            answer = Py_BuildValue("(Ny#)", tree, w.digests[0], (Py_ssize_t)32);
    }
    else if (result == DECLINED)
        answer = Py_NewRef(Py_None);
    walk_free(&w);
    return answer;
}

/* --- the walk of a tree ---------------------------------------------------------------- */

static int
walk_node(walk *w, PyObject *object, PyObject *key, int check, int depth, size_t *index)
{
    if (depth > MAX_DEPTH)
        return DECLINED;
    PyTypeObject *type = Py_TYPE(object);
    if (type == Hidden) {
        PyObject *digest = slot(object, HIDDEN_DIGEST);
        if (!digest || !PyBytes_CheckExact(digest) || PyBytes_GET_SIZE(digest) != 32)
            return DECLINED;
        tree_node *node = next_node(w, HIDDEN_NODE);
        if (!node)
            return -1;
        node->source = object;
        *index = w->node_count++;
        return WALKED;
    }
    enum kind kind = type == ValueNode    ? VALUE_NODE
                     : type == ObjectNode ? OBJECT_NODE
                     : type == ArrayNode  ? ARRAY_NODE
                                          : HIDDEN_NODE;
    if (kind == HIDDEN_NODE)
        return DECLINED;
    PyObject *salt = slot(object, kind == VALUE_NODE    ? VALUE_SALT
                                  : kind == OBJECT_NODE ? OBJECT_SALT
                                                        : ARRAY_SALT);
    if (!salt || !PyBytes_CheckExact(salt))
        return DECLINED;
    int result = start_node(w, kind, (const uint8_t *)PyBytes_AS_STRING(salt),
                            (size_t)PyBytes_GET_SIZE(salt), index);
    if (result != WALKED)
        return result;
    size_t at = *index;
    w->nodes[at].source = object;
    w->nodes[at].key = key;
    if (kind == VALUE_NODE) {
        PyObject *value = slot(object, VALUE_VALUE);
        PyObject *stated = slot(object, VALUE_DIGEST);
        if (!value || (check && (!stated || !PyBytes_CheckExact(stated))))
            return DECLINED;
        w->nodes[at].stated = check ? stated : NULL;
        return end_value(w, at, value);
    }
    PyObject *children = slot(object, kind == OBJECT_NODE ? OBJECT_MEMBERS : ARRAY_ITEMS);
    if (!children || !PyTuple_CheckExact(children))
        return DECLINED;
    Py_ssize_t count = PyTuple_GET_SIZE(children);
    size_t first;
    result = end_inner(w, at, (size_t)count, &first);
    if (result != WALKED)
        return result;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *child = PyTuple_GET_ITEM(children, i);
        PyObject *child_key = NULL;
        size_t mark = w->path_size, position;
        if (kind == OBJECT_NODE && Py_TYPE(child) != Hidden) {
            if (!PyTuple_CheckExact(child) || PyTuple_GET_SIZE(child) != 2 ||
                !PyUnicode_CheckExact(PyTuple_GET_ITEM(child, 0)))
                return DECLINED;
            child_key = PyTuple_GET_ITEM(child, 0);
            Py_ssize_t size;
            const char *text = PyUnicode_AsUTF8AndSize(child_key, &size);
            if (!text) {
                PyErr_Clear();
                return DECLINED;
            }
            if (push_key(w, text, (size_t)size, &mark) < 0)
                return -1;
            child = PyTuple_GET_ITEM(child, 1);
        }
        else if (kind == ARRAY_NODE && push_index(w, i, &mark) < 0)
            return -1;
        result = walk_node(w, child, child_key, check, depth + 1, &position);
        w->path_size = mark;
        if (result != WALKED)
            return result;
        w->children[first + (size_t)i] = position;
    }
    return WALKED;
}

/* (path, computed, stated) of the first disclosed value, in pre-order, whose digest is not the
 * one stated; None if every one matches; NULL on error. */
static PyObject *
first_mismatch(walk *w)
{
    for (size_t i = 0; i < w->node_count; i++) {
        tree_node *node = &w->nodes[i];
        if (!node->stated)
            continue;
        if (PyBytes_GET_SIZE(node->stated) == 32 &&
            !memcmp(PyBytes_AS_STRING(node->stated), w->digests[i], 32))
            continue;
        const uint8_t *encoded = w->arena + node->input + 1 + node->salt_size;
        Py_ssize_t size = (Py_ssize_t)encoded[0] << 8 | encoded[1];
        return Py_BuildValue("(s#y#O)", (const char *)encoded + 2, size, w->digests[i],
                             (Py_ssize_t)32, node->stated);
    }
    Py_RETURN_NONE;
}

static PyObject *
tree_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!arity(nargs, 3, "tree_digest(node, path, check)"))
        return NULL;
    if (!PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "tree_digest(): path must be a str");
        return NULL;
    }
    if (!node_types_known())
        return NULL;
    int check = PyObject_IsTrue(args[2]);
    if (check < 0)
        return NULL;
    Py_ssize_t size;
    const char *path = PyUnicode_AsUTF8AndSize(args[1], &size);
    if (!path) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    walk w;
    walk_start(&w);
    PyObject *answer = NULL;
    size_t root;
    int result = GROW(&w, path, path_room, (size_t)size + 1);
    if (result == 0) {
        memcpy(w.path, path, (size_t)size);
        w.path_size = (size_t)size;
        result = walk_node(&w, args[0], NULL, check, 0, &root);
    }
    if (result == WALKED && hash_nodes(&w) < 0)
        result = -1;
    if (result == WALKED) {
        PyObject *mismatch = check ? first_mismatch(&w) : Py_NewRef(Py_None);
        if (mismatch == Py_None) {
            Py_DECREF(mismatch);
            answer = digest_bytes(w.digests[0]);
        }
        else
            answer = mismatch;
    }
    else if (result == DECLINED)
        answer = Py_NewRef(Py_None);
    walk_free(&w);
    return answer;
}

/* --- trees from JSON ------------------------------------------------------------------ */

/* Member names of a node's JSON object (docs/proof-bundle-v2.md), interned once. */
static PyObject *K_hidden, *K_salt, *K_value, *K_digest, *K_members, *K_items, *K_key;

/* The 32 bytes of a "0x" + 64 lowercase hex digits str, or NULL (no exception) if it is not
 * one; NULL with an exception when out of memory. */
static PyObject *
hex32(PyObject *text)
{
    if (!text || !PyUnicode_CheckExact(text) || !PyUnicode_IS_ASCII(text) ||
        PyUnicode_GET_LENGTH(text) != 66)
        return NULL;
    const unsigned char *p = PyUnicode_1BYTE_DATA(text);
    if (p[0] != '0' || p[1] != 'x')
        return NULL;
    uint8_t raw[32];
    for (int i = 0; i < 32; i++) {
        int value = 0;
        for (int half = 0; half < 2; half++) {
            unsigned char c = p[2 + 2 * i + half];
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0)
                return NULL;
            value = value << 4 | digit;
        }
        raw[i] = (uint8_t)value;
    }
    return PyBytes_FromStringAndSize((const char *)raw, 32);
}

/* A field name, [A-Za-z0-9_]+. */
static int
is_field_name(PyObject *key)
{
    return PyUnicode_CheckExact(key) && PyUnicode_IS_ASCII(key) &&
           field_name((const char *)PyUnicode_1BYTE_DATA(key), PyUnicode_GET_LENGTH(key));
}

#define MAX_JSON_DEPTH 32 /* fieldtree.py's _MAX_DEPTH */

/* The node of a well-formed node object (with `key` beside its members when `keyed`), as
 * fieldtree.node_from_json parses it; Py_None where the reference must decide (and word what
 * is wrong), NULL on error. */
static PyObject *
node_of(PyObject *data, int keyed, int depth)
{
    if (depth > MAX_JSON_DEPTH || !PyDict_CheckExact(data))
        return Py_NewRef(Py_None);
    Py_ssize_t size = PyDict_GET_SIZE(data) - (keyed ? 1 : 0);
    PyObject *hidden = PyDict_GetItemWithError(data, K_hidden);
    if (hidden || PyErr_Occurred()) {
        if (PyErr_Occurred() || size != 1)
            return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        PyObject *digest = hex32(hidden);
        if (!digest)
            return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        return new_node(Hidden, HIDDEN_DIGEST, digest, NULL, NULL, NULL, NULL);
    }
    PyObject *salt_text = PyDict_GetItemWithError(data, K_salt);
    if (!salt_text)
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    PyObject *value = PyDict_GetItemWithError(data, K_value);
    PyObject *members = value ? NULL : PyDict_GetItemWithError(data, K_members);
    PyObject *items = value || members ? NULL : PyDict_GetItemWithError(data, K_items);
    if (PyErr_Occurred())
        return NULL;
    if (value) {
        PyObject *digest = PyDict_GetItemWithError(data, K_digest);
        if (!digest || size != 3 || PyDict_Check(value) || PyList_Check(value))
            return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        PyObject *salt = hex32(salt_text), *stated = salt ? hex32(digest) : NULL;
        if (!salt || !stated) {
            Py_XDECREF(salt);
            return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
        }
        return new_node(ValueNode, VALUE_SALT, salt, VALUE_VALUE, Py_NewRef(value), VALUE_DIGEST,
                        stated);
    }
    PyObject *list = members ? members : items;
    if (!list || size != 2 || !PyList_CheckExact(list))
        return Py_NewRef(Py_None);
    Py_ssize_t count = PyList_GET_SIZE(list);
    PyObject *children = PyTuple_New(count);
    if (!children)
        return NULL;
    PyObject *last = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *raw = PyList_GET_ITEM(list, i), *key = NULL, *child;
        if (members && PyDict_CheckExact(raw)) {
            key = PyDict_GetItemWithError(raw, K_key);
            if (!key && PyErr_Occurred())
                goto fail;
        }
        if (key) {
            /* Members in key order, each once: plain ASCII, so code point order is byte order. */
            if (!is_field_name(key) ||
                (last && PyUnicode_Compare(key, last) <= 0))
                goto decline;
            last = key;
        }
        child = node_of(raw, key != NULL, depth + 1);
        if (!child)
            goto fail;
        if (child == Py_None || (members && (Py_TYPE(child) == Hidden) != (key == NULL))) {
            Py_DECREF(child);
            goto decline;
        }
        if (key) {
            PyObject *pair = PyTuple_Pack(2, key, child);
            Py_DECREF(child);
            if (!pair)
                goto fail;
            child = pair;
        }
        PyTuple_SET_ITEM(children, i, child);
    }
    PyObject *salt = hex32(salt_text);
    if (!salt) {
        Py_DECREF(children);
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    return members ? new_node(ObjectNode, OBJECT_SALT, salt, OBJECT_MEMBERS, children, NULL, NULL)
                   : new_node(ArrayNode, ARRAY_SALT, salt, ARRAY_ITEMS, children, NULL, NULL);
decline:
    Py_DECREF(children);
    return Py_NewRef(Py_None);
fail:
    Py_DECREF(children);
    return NULL;
}

static PyObject *
tree_from_json(PyObject *module, PyObject *data)
{
    if (!node_types_known())
        return NULL;
    return node_of(data, 0, 0);
}

/* --- the module ------------------------------------------------------------------------ */

static PyMemberDef *
slot_of(PyTypeObject *type, const char *name)
{
    PyObject *descriptor = PyDict_GetItemString(type->tp_dict, name);
    if (!descriptor || !Py_IS_TYPE(descriptor, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        return NULL;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descriptor)->d_member;
    if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a writable object slot", type->tp_name,
                     name);
        return NULL;
    }
    return member;
}

static PyObject *
use_node_types(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!arity(nargs, 4, "use_node_types(ValueNode, ObjectNode, ArrayNode, Hidden)"))
        return NULL;
    for (int i = 0; i < 4; i++)
        if (!PyType_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "use_node_types() takes four classes");
            return NULL;
        }
    PyTypeObject *value = (PyTypeObject *)args[0], *object = (PyTypeObject *)args[1],
                 *array = (PyTypeObject *)args[2], *hidden = (PyTypeObject *)args[3];
    if (!(VALUE_SALT = slot_of(value, "salt")) || !(VALUE_VALUE = slot_of(value, "value")) ||
        !(VALUE_DIGEST = slot_of(value, "digest")) || !(OBJECT_SALT = slot_of(object, "salt")) ||
        !(OBJECT_MEMBERS = slot_of(object, "members")) ||
        !(ARRAY_SALT = slot_of(array, "salt")) || !(ARRAY_ITEMS = slot_of(array, "items")) ||
        !(HIDDEN_DIGEST = slot_of(hidden, "digest")))
        return NULL;
    Py_XSETREF(ValueNode, (PyTypeObject *)Py_NewRef(value));
    Py_XSETREF(ObjectNode, (PyTypeObject *)Py_NewRef(object));
    Py_XSETREF(ArrayNode, (PyTypeObject *)Py_NewRef(array));
    Py_XSETREF(Hidden, (PyTypeObject *)Py_NewRef(hidden));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"fields_digest", (PyCFunction)(void (*)(void))fields_digest, METH_FASTCALL,
     "(commitment salt, digest of the record's field tree), or None to leave it to the reference."},
    {"commit_v2", (PyCFunction)(void (*)(void))commit_v2, METH_FASTCALL,
     "(record hash, commitment, leaf) of a v2 record with its subject tags, or None."},
    {"use_tag_type", use_tag_type, METH_O,
     "The SubjectTag class of ledger_node.tagging, whose slots commit_v2 reads."},
    {"build_tree", (PyCFunction)(void (*)(void))build_tree, METH_FASTCALL,
     "(complete tree, its digest) of a record, or None to leave it to the reference."},
    {"tree_digest", (PyCFunction)(void (*)(void))tree_digest, METH_FASTCALL,
     "The digest of a tree at a path; with check, (path, computed, stated) of the first value "
     "that does not hash to its stated digest; None to leave it to the reference."},
    {"tree_from_json", tree_from_json, METH_O,
     "The node of a well-formed node object (fieldtree.node_from_json), or None."},
    {"use_node_types", (PyCFunction)(void (*)(void))use_node_types, METH_FASTCALL,
     "The node classes of ledger_node.fieldtree, whose slots the functions read and write."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_fieldtree",
    .m_doc = "The field tree of taxledger.proof/v2, compiled (see ledger_node/fieldtree.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__fieldtree(void)
{
    if (!(K_hidden = PyUnicode_InternFromString("hidden")) ||
        !(K_salt = PyUnicode_InternFromString("salt")) ||
        !(K_value = PyUnicode_InternFromString("value")) ||
        !(K_digest = PyUnicode_InternFromString("digest")) ||
        !(K_members = PyUnicode_InternFromString("members")) ||
        !(K_items = PyUnicode_InternFromString("items")) ||
        !(K_key = PyUnicode_InternFromString("key")))
        return NULL;
    return PyModule_Create(&module_def);
}
