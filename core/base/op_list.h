/*
 * core/base/op_list.h - the intrusive doubly linked list every module uses.
 *
 * An op_list_t is both the list (its head) and the link that an element
 * embeds; the element is found back from its link with OP_LIST_ENTRY. The
 * list is circular with the head as sentinel, so inserting and removing
 * take no branch on "first" or "last" and cost O(1). Nothing allocates:
 * the element owns its link, and whoever owns the element decides when it
 * is on a list.
 *
 * A link that is on no list points at itself (op_list_init, op_list_remove),
 * so op_list_remove may be called twice and op_list_linked says whether an
 * element is on a list. A head must be initialised with op_list_init (or
 * OP_LIST_INIT) before use.
 *
 *     typedef struct job { op_list_t link; int n; } job_t;
 *     op_list_t jobs;
 *     op_list_init(&jobs);
 *     op_list_insert_tail(&jobs, &job->link);
 *     op_list_t *pos, *tmp;
 *     OP_LIST_FOREACH_SAFE (pos, tmp, &jobs) {
 *         job_t *j = OP_LIST_ENTRY(pos, job_t, link);
 *         op_list_remove(&j->link);   (allowed: tmp already holds the next)
 *         free(j);
 *     }
 */
#ifndef OP_LIST_H
#define OP_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct op_list {
    struct op_list *next;
    struct op_list *prev;
} op_list_t;

/* A static initialiser for a head: op_list_t l = OP_LIST_INIT(l); */
#define OP_LIST_INIT(name)                                                                         \
    {                                                                                              \
        &(name), &(name)                                                                           \
    }

/* The element of type `type` whose member `member` is the link at ptr. */
#define OP_LIST_ENTRY(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/*
 * Iterate over the links of the list at head, from first to last; pos is
 * the current link, tmp the next one, so the body may remove (and free)
 * pos. It must not remove tmp.
 */
#define OP_LIST_FOREACH_SAFE(pos, tmp, head)                                                       \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

/* The same for a body that leaves the list as it is. */
#define OP_LIST_FOREACH(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* An empty list, or a link that is on no list. */
static inline void op_list_init(op_list_t *l)
{
    l->next = l;
    l->prev = l;
}

static inline bool op_list_empty(const op_list_t *l)
{
    return l->next == l;
}

/* Is the link n on a list? (false after op_list_init or op_list_remove) */
static inline bool op_list_linked(const op_list_t *n)
{
    return n->next != n;
}

/* Put n right after at: at the head of the list when at is the list's head,
 * right behind the element when at is an element's link. */
static inline void op_list_insert_head(op_list_t *at, op_list_t *n)
{
    n->next = at->next;
    n->prev = at;
    at->next->prev = n;
    at->next = n;
}

/* Put n at the end of the list l. */
static inline void op_list_insert_tail(op_list_t *l, op_list_t *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

/* Take n off its list; it is then on none. A no-op for an unlinked n. */
static inline void op_list_remove(op_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    op_list_init(n);
}

/* The first link of l, NULL when l is empty. */
static inline op_list_t *op_list_first(const op_list_t *l)
{
    return l->next == l ? NULL : l->next;
}

/* Move every element of from to the end of to, in order; from is then
 * empty. */
static inline void op_list_move_tail(op_list_t *to, op_list_t *from)
{
    if (op_list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    op_list_init(from);
}

#endif
