/*
 * core/flows/op_sub_quota.h - the per-subject session quota, enforced in
 * the background after a subject session is written (core/flows/op_sub_quota.c).
 */
#ifndef OP_SUB_QUOTA_H
#define OP_SUB_QUOTA_H

#include "core/server/op_server.h"

/* Close the subject's oldest sessions beyond sessionStore.quotaPerSubject,
 * in the background (keep_key: the store key of the session just
 * created). */
void op_sub_quota_enforce(op_server_t *srv, const char *sub, const char *keep_key);

#endif
