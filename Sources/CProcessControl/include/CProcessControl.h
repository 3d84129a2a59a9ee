#ifndef C_PROCESS_CONTROL_H
#define C_PROCESS_CONTROL_H

/// Turns transparent huge pages off for this process and every process it starts from now on
/// (Linux `prctl(PR_SET_THP_DISABLE)`, inherited across fork and exec). Returns 0 on success,
/// else -1 with errno set (ENOSYS where the system has no such control).
/// Swift does not import C's variadic `prctl`, hence this function.
int ballast_disable_transparent_huge_pages(void);

#endif
