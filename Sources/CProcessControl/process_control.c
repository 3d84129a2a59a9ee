#include "CProcessControl.h"

#include <errno.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

int ballast_disable_transparent_huge_pages(void) {
#if defined(__linux__) && defined(PR_SET_THP_DISABLE)
  return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}
