/* The node array of a StandardMerkleTree (merkle.py holds the reference and the layout's
 * definition), compiled: the leaves sorted with their value indices (stable, as the library
 * sorts), laid out from the end of the array, and the inner nodes hashed level by level from
 * the bottom, each level's pairs side by side (keccak256_many).
 *
 * The sorting and hashing run without the GIL: a gateway builds a 10,000-leaf tree per batch
 * in its batcher thread while its event loop answers requests, and the tree in Python held the
 * GIL for 10 to 70 ms at a time. build() answers exactly as merkle.reference_build() or
 * declines (returns None) for leaves that are not all 32-byte bytes, and then the reference
 * says which is wrong. tests/records/test_merkle.py holds the two to the same answers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "_keccak.h"

typedef struct {
    uint64_t head; /* the leaf's first 8 bytes, big-endian: most comparisons end there */
    const uint8_t *leaf;
    Py_ssize_t index;
} ranked;

static uint64_t
head_of(const uint8_t *leaf)
{
    uint64_t head = 0;
    for (int i = 0; i < 8; i++)
        head = head << 8 | leaf[i];
    return head;
}

static int
by_leaf_then_index(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    int order = memcmp(x->leaf, y->leaf, 32);
    if (order)
        return order;
    return (x->index > y->index) - (x->index < y->index);
}

/* Fills nodes[0 .. count - 2] (32 bytes each) from nodes[count - 1 .. 2 count - 2], a level
 * at a time from the bottom; scratch holds a level's sorted pairs (64 bytes each). */
static int
hash_levels(uint8_t *nodes, Py_ssize_t count)
{
    if (count < 2)
        return 0;
    Py_ssize_t last_internal = count - 2, levels = 0, lo = 0;
    Py_ssize_t bounds[2 * 64];
    while (lo <= last_internal) {
        Py_ssize_t hi = 2 * lo < last_internal ? 2 * lo : last_internal;
        bounds[2 * levels] = lo;
        bounds[2 * levels + 1] = hi;
        levels++;
        lo = 2 * lo + 1;
    }
    Py_ssize_t widest = 0;
    for (Py_ssize_t d = 0; d < levels; d++)
        if (bounds[2 * d + 1] - bounds[2 * d] + 1 > widest)
            widest = bounds[2 * d + 1] - bounds[2 * d] + 1;
    uint8_t *pairs = malloc((size_t)widest * 64);
    const uint8_t **messages = malloc(sizeof(*messages) * (size_t)widest);
    size_t *sizes = malloc(sizeof(*sizes) * (size_t)widest);
    if (!pairs || !messages || !sizes) {
        free(pairs);
        free(messages);
        free(sizes);
        return -1;
    }
    for (Py_ssize_t k = 0; k < widest; k++) {
        messages[k] = pairs + 64 * k;
        sizes[k] = 64;
    }
    for (Py_ssize_t d = levels - 1; d >= 0; d--) {
        Py_ssize_t first = bounds[2 * d], width = bounds[2 * d + 1] - first + 1;
        for (Py_ssize_t k = 0; k < width; k++) {
            const uint8_t *a = nodes + 32 * (2 * (first + k) + 1), *b = a + 32;
            if (memcmp(a, b, 32) > 0) {
                const uint8_t *t = a;
                a = b;
                b = t;
            }
            memcpy(pairs + 64 * k, a, 32);
            memcpy(pairs + 64 * k + 32, b, 32);
        }
        keccak256_many(messages, sizes, (size_t)width, (uint8_t(*)[32])(nodes + 32 * first));
    }
    free(pairs);
    free(messages);
    free(sizes);
    return 0;
}

static PyObject *
build(PyObject *module, PyObject *leaves)
{
    /* A tuple of its own: no other thread can change it (nor free a leaf) without the GIL. */
    PyObject *seq = PySequence_Tuple(leaves);
    if (!seq)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(seq);
    PyObject **items = &PyTuple_GET_ITEM(seq, 0);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyBytes_CheckExact(items[i]) || PyBytes_GET_SIZE(items[i]) != 32) {
            Py_DECREF(seq);
            Py_RETURN_NONE;
        }
    }
    if (count == 0) {
        Py_DECREF(seq);
        Py_RETURN_NONE;
    }
    Py_ssize_t size = 2 * count - 1, last = size - 1;
    uint8_t *nodes = malloc(32 * (size_t)size);
    ranked *order = malloc(sizeof(*order) * (size_t)count);
    if (!nodes || !order) {
        free(nodes);
        free(order);
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    /* The leaves stay referenced by seq, so their bytes stay put while the GIL is released. */
    for (Py_ssize_t i = 0; i < count; i++) {
        order[i].leaf = (const uint8_t *)PyBytes_AS_STRING(items[i]);
        order[i].head = head_of(order[i].leaf);
        order[i].index = i;
    }
    int failed;
    Py_BEGIN_ALLOW_THREADS
    qsort(order, (size_t)count, sizeof(*order), by_leaf_then_index);
    for (Py_ssize_t rank = 0; rank < count; rank++)
        memcpy(nodes + 32 * (last - rank), order[rank].leaf, 32);
    failed = hash_levels(nodes, count);
    Py_END_ALLOW_THREADS
    PyObject *list = NULL, *positions = NULL, *result = NULL;
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(list = PyList_New(size)) || !(positions = PyList_New(count)))
        goto done;
    for (Py_ssize_t i = 0; i < count - 1; i++) {
        PyObject *node = PyBytes_FromStringAndSize((const char *)nodes + 32 * i, 32);
        if (!node)
            goto done;
        PyList_SET_ITEM(list, i, node);
    }
    for (Py_ssize_t rank = 0; rank < count; rank++) {
        PyObject *position = PyLong_FromSsize_t(last - rank);
        if (!position)
            goto done;
        PyList_SET_ITEM(list, last - rank, Py_NewRef(items[order[rank].index]));
        PyList_SET_ITEM(positions, order[rank].index, position);
    }
    result = PyTuple_Pack(2, list, positions);
done:
    Py_XDECREF(list);
    Py_XDECREF(positions);
    free(nodes);
    free(order);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"build", build, METH_O,
     "(nodes, positions) of a tree over 32-byte leaves, or None to leave it to the reference."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_merkle",
    .m_doc = "StandardMerkleTree's node array, compiled (see ledger_node/merkle.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__merkle(void)
{
    return PyModule_Create(&module_def);
}
