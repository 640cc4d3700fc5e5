-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_ExportJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "ownerId" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "format" TEXT NOT NULL,
    "filter" JSONB NOT NULL,
    "recordsWritten" INTEGER NOT NULL DEFAULT 0,
    "recordsTotal" INTEGER NOT NULL DEFAULT 0,
    "counts" JSONB,
    "byteSize" BIGINT,
    "sha256" TEXT,
    "storageKey" TEXT,
    "filename" TEXT,
    "error" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "expiresAt" DATETIME,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "ExportJob_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "ExportJob_requestedById_fkey" FOREIGN KEY ("requestedById") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_ExportJob" ("byteSize", "counts", "createdAt", "error", "expiresAt", "filename", "filter", "finishedAt", "format", "id", "ownerId", "recordsTotal", "recordsWritten", "requestedById", "sha256", "startedAt", "status", "storageKey") SELECT "byteSize", "counts", "createdAt", "error", "expiresAt", "filename", "filter", "finishedAt", "format", "id", "ownerId", "recordsTotal", "recordsWritten", "requestedById", "sha256", "startedAt", "status", "storageKey" FROM "ExportJob";
DROP TABLE "ExportJob";
ALTER TABLE "new_ExportJob" RENAME TO "ExportJob";
CREATE INDEX "ExportJob_requestedById_createdAt_idx" ON "ExportJob"("requestedById", "createdAt");
CREATE INDEX "ExportJob_status_idx" ON "ExportJob"("status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
