/*
 * tests/unit/base/test_op_list.c - core/base/op_list.h: order of insertion,
 * removal from any place (twice is harmless), the safe iteration that frees
 * the current element, moving a whole list, and the container-of macro.
 */
#include <stdlib.h>

#include "core/base/op.h"
#include "tests/unit/op_test.h"

typedef struct item {
    int n;
    op_list_t link;
} item_t;

/* The values of the list, in order, as "1,2,3" (at most 15 items). */
static const char *values(op_list_t *l)
{
    static char out[64];
    size_t o = 0;
    op_list_t *pos, *tmp;
    out[0] = '\0';
    OP_LIST_FOREACH_SAFE (pos, tmp, l) {
        item_t *it = OP_LIST_ENTRY(pos, item_t, link);
        if (o > 0)
            out[o++] = ',';
        out[o++] = (char)('0' + it->n);
        out[o] = '\0';
    }
    return out;
}

static void test_insert_order(void)
{
    op_list_t l;
    item_t it[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
    op_list_init(&l);
    OP_CHECK(op_list_empty(&l));
    OP_CHECK(op_list_first(&l) == NULL);
    op_list_insert_tail(&l, &it[1].link);
    op_list_insert_tail(&l, &it[2].link);
    op_list_insert_head(&l, &it[0].link);
    OP_CHECK_STR(values(&l), "1,2,3");
    /* insert_head at an element puts the new one right behind it */
    op_list_insert_head(&it[1].link, &it[3].link);
    OP_CHECK_STR(values(&l), "1,2,4,3");
    OP_CHECK(!op_list_empty(&l));
    OP_CHECK(op_list_first(&l) == &it[0].link);
    OP_CHECK(OP_LIST_ENTRY(op_list_first(&l), item_t, link) == &it[0]);
}

static void test_remove_anywhere(void)
{
    op_list_t l = OP_LIST_INIT(l);
    item_t it[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
    for (int i = 0; i < 3; i++) {
        op_list_init(&it[i].link);
        OP_CHECK(!op_list_linked(&it[i].link));
        op_list_insert_tail(&l, &it[i].link);
        OP_CHECK(op_list_linked(&it[i].link));
    }
    op_list_remove(&it[1].link); /* middle */
    OP_CHECK_STR(values(&l), "1,3");
    OP_CHECK(!op_list_linked(&it[1].link));
    op_list_remove(&it[1].link); /* again: a no-op */
    OP_CHECK_STR(values(&l), "1,3");
    op_list_remove(&it[2].link); /* last */
    op_list_remove(&it[0].link); /* first and only */
    OP_CHECK(op_list_empty(&l));
    OP_CHECK_STR(values(&l), "");
}

/* The body frees every element it visits (ASan sees a use after free if
 * the iteration touched the current link after the body). */
static void test_foreach_safe_frees(void)
{
    op_list_t l;
    op_list_init(&l);
    for (int i = 1; i <= 5; i++) {
        item_t *it = calloc(1, sizeof(*it));
        it->n = i;
        op_list_insert_tail(&l, &it->link);
    }
    op_list_t *pos, *tmp;
    int seen = 0;
    OP_LIST_FOREACH_SAFE (pos, tmp, &l) {
        item_t *it = OP_LIST_ENTRY(pos, item_t, link);
        OP_CHECK_INT(it->n, ++seen);
        if (it->n % 2 == 1) {
            op_list_remove(pos);
            free(it);
        }
    }
    OP_CHECK_INT(seen, 5);
    OP_CHECK_STR(values(&l), "2,4");
    OP_LIST_FOREACH_SAFE (pos, tmp, &l) {
        op_list_remove(pos);
        free(OP_LIST_ENTRY(pos, item_t, link));
    }
    OP_CHECK(op_list_empty(&l));
}

static void test_move_tail(void)
{
    op_list_t a, b;
    item_t it[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
    op_list_init(&a);
    op_list_init(&b);
    op_list_move_tail(&a, &b); /* empty to empty */
    OP_CHECK(op_list_empty(&a) && op_list_empty(&b));
    op_list_insert_tail(&a, &it[0].link);
    op_list_insert_tail(&b, &it[1].link);
    op_list_insert_tail(&b, &it[2].link);
    op_list_move_tail(&a, &b);
    OP_CHECK_STR(values(&a), "1,2,3");
    OP_CHECK(op_list_empty(&b));
    op_list_insert_tail(&b, &it[3].link); /* b is usable again */
    OP_CHECK_STR(values(&b), "4");
    op_list_move_tail(&b, &a); /* into a non-empty list, keeping order */
    OP_CHECK_STR(values(&b), "4,1,2,3");
    OP_CHECK(op_list_empty(&a));
    OP_CHECK(b.prev == &it[2].link && it[2].link.next == &b);
}

static const op_test_case_t cases[] = {
    {"insert_order", test_insert_order},
    {"remove_anywhere", test_remove_anywhere},
    {"foreach_safe_frees", test_foreach_safe_frees},
    {"move_tail", test_move_tail},
};
OP_TEST_MAIN(cases)
