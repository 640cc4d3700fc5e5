-- CreateEnum
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');

-- CreateEnum
CREATE TYPE "MemoryState" AS ENUM ('active', 'paused', 'archived', 'deleted');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "ArchiveFormat" AS ENUM ('ZIP', 'JSONL', 'OPENMEMORY', 'FOVEA');

-- CreateEnum
CREATE TYPE "ImportMode" AS ENUM ('SKIP', 'OVERWRITE');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "externalId" TEXT,
    "role" "Role" NOT NULL DEFAULT 'USER',
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT 'default',
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExportJob" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'PENDING',
    "format" "ArchiveFormat" NOT NULL,
    "filter" JSONB NOT NULL,
    "recordsWritten" INTEGER NOT NULL DEFAULT 0,
    "recordsTotal" INTEGER NOT NULL DEFAULT 0,
    "counts" JSONB,
    "byteSize" BIGINT,
    "sha256" TEXT,
    "storageKey" TEXT,
    "filename" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),

    CONSTRAINT "ExportJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StagedUpload" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "byteSize" BIGINT NOT NULL,
    "sha256" TEXT NOT NULL,
    "format" "ArchiveFormat" NOT NULL,
    "storageKey" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StagedUpload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportRecord" (
    "id" TEXT NOT NULL,
    "requestedById" TEXT NOT NULL,
    "targetUserId" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "byteSize" BIGINT NOT NULL,
    "format" "ArchiveFormat" NOT NULL,
    "mode" "ImportMode" NOT NULL,
    "options" JSONB NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'PENDING',
    "crossUser" BOOLEAN NOT NULL DEFAULT false,
    "exporterUserId" TEXT,
    "counts" JSONB,
    "warnings" JSONB,
    "error" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "ImportRecord_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "App" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "metadata" JSONB,
    "isActive" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "App_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Category" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Category_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Memory" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "metadata" JSONB,
    "state" "MemoryState" NOT NULL DEFAULT 'active',
    "embedding" BYTEA,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "archivedAt" TIMESTAMP(3),
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "Memory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MemoryCategory" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "memoryId" TEXT NOT NULL,
    "categoryId" TEXT NOT NULL,

    CONSTRAINT "MemoryCategory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MemoryStatus" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "memoryId" TEXT NOT NULL,
    "changedById" TEXT,
    "oldState" "MemoryState" NOT NULL,
    "newState" "MemoryState" NOT NULL,
    "changedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MemoryStatus_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessControl" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "subjectType" TEXT NOT NULL,
    "subjectId" TEXT,
    "objectType" TEXT NOT NULL,
    "objectId" TEXT,
    "effect" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AccessControl_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Persona" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT '',
    "informationNeed" TEXT NOT NULL DEFAULT '',
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Persona_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Ontology" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "personaId" TEXT NOT NULL,
    "entityTypes" JSONB NOT NULL,
    "eventTypes" JSONB NOT NULL,
    "roleTypes" JSONB NOT NULL,
    "relationTypes" JSONB NOT NULL,
    "relations" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Ontology_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldEntity" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" JSONB NOT NULL,
    "typeAssignments" JSONB NOT NULL,
    "metadata" JSONB,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldEntity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldLocation" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" JSONB NOT NULL,
    "locationType" TEXT NOT NULL DEFAULT 'point',
    "coordinates" JSONB,
    "typeAssignments" JSONB NOT NULL,
    "metadata" JSONB,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldLocation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldEvent" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" JSONB NOT NULL,
    "personaInterpretations" JSONB NOT NULL,
    "metadata" JSONB,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldTime" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "label" TEXT,
    "timestamp" TEXT,
    "startTime" TEXT,
    "endTime" TEXT,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldTime_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldCollection" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "memberKind" TEXT NOT NULL,
    "collectionType" TEXT NOT NULL DEFAULT 'group',
    "name" TEXT NOT NULL,
    "description" JSONB NOT NULL,
    "members" JSONB NOT NULL,
    "typeAssignments" JSONB NOT NULL,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldCollection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorldRelation" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "relationTypeId" TEXT NOT NULL,
    "sourceType" TEXT NOT NULL,
    "sourceId" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorldRelation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Video" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "url" TEXT,
    "durationMs" INTEGER,
    "fps" DOUBLE PRECISION,
    "width" INTEGER,
    "height" INTEGER,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Video_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VideoSummary" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "videoId" TEXT NOT NULL,
    "personaId" TEXT NOT NULL,
    "summary" JSONB NOT NULL,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "VideoSummary_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Claim" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "summaryId" TEXT NOT NULL,
    "parentClaimId" TEXT,
    "text" TEXT NOT NULL,
    "gloss" JSONB NOT NULL,
    "confidence" DOUBLE PRECISION,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Claim_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ClaimRelation" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "sourceClaimId" TEXT NOT NULL,
    "targetClaimId" TEXT NOT NULL,
    "relationTypeId" TEXT NOT NULL,
    "extra" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ClaimRelation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Annotation" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "videoId" TEXT NOT NULL,
    "personaId" TEXT,
    "annotationType" TEXT NOT NULL,
    "typeCategory" TEXT,
    "typeId" TEXT,
    "linkType" TEXT,
    "linkedEntityId" TEXT,
    "linkedEventId" TEXT,
    "linkedTimeId" TEXT,
    "linkedLocationId" TEXT,
    "boundingBoxSequence" JSONB NOT NULL,
    "totalFrames" INTEGER NOT NULL DEFAULT 0,
    "keyframeCount" INTEGER NOT NULL DEFAULT 0,
    "interpolatedFrameCount" INTEGER NOT NULL DEFAULT 0,
    "confidence" DOUBLE PRECISION,
    "notes" TEXT,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Annotation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_prefix_key" ON "ApiToken"("prefix");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE INDEX "ExportJob_requestedById_createdAt_idx" ON "ExportJob"("requestedById", "createdAt");

-- CreateIndex
CREATE INDEX "ExportJob_status_idx" ON "ExportJob"("status");

-- CreateIndex
CREATE INDEX "StagedUpload_userId_idx" ON "StagedUpload"("userId");

-- CreateIndex
CREATE INDEX "StagedUpload_expiresAt_idx" ON "StagedUpload"("expiresAt");

-- CreateIndex
CREATE INDEX "ImportRecord_requestedById_startedAt_idx" ON "ImportRecord"("requestedById", "startedAt");

-- CreateIndex
CREATE INDEX "App_ownerId_id_idx" ON "App"("ownerId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "App_ownerId_name_key" ON "App"("ownerId", "name");

-- CreateIndex
CREATE INDEX "Category_ownerId_id_idx" ON "Category"("ownerId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Category_ownerId_name_key" ON "Category"("ownerId", "name");

-- CreateIndex
CREATE INDEX "Memory_ownerId_id_idx" ON "Memory"("ownerId", "id");

-- CreateIndex
CREATE INDEX "Memory_ownerId_createdAt_idx" ON "Memory"("ownerId", "createdAt");

-- CreateIndex
CREATE INDEX "Memory_appId_idx" ON "Memory"("appId");

-- CreateIndex
CREATE INDEX "MemoryCategory_ownerId_id_idx" ON "MemoryCategory"("ownerId", "id");

-- CreateIndex
CREATE INDEX "MemoryCategory_categoryId_idx" ON "MemoryCategory"("categoryId");

-- CreateIndex
CREATE UNIQUE INDEX "MemoryCategory_memoryId_categoryId_key" ON "MemoryCategory"("memoryId", "categoryId");

-- CreateIndex
CREATE INDEX "MemoryStatus_ownerId_id_idx" ON "MemoryStatus"("ownerId", "id");

-- CreateIndex
CREATE INDEX "MemoryStatus_memoryId_idx" ON "MemoryStatus"("memoryId");

-- CreateIndex
CREATE INDEX "AccessControl_ownerId_id_idx" ON "AccessControl"("ownerId", "id");

-- CreateIndex
CREATE INDEX "Persona_ownerId_id_idx" ON "Persona"("ownerId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Persona_ownerId_name_key" ON "Persona"("ownerId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Ontology_personaId_key" ON "Ontology"("personaId");

-- CreateIndex
CREATE INDEX "Ontology_ownerId_id_idx" ON "Ontology"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldEntity_ownerId_id_idx" ON "WorldEntity"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldLocation_ownerId_id_idx" ON "WorldLocation"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldEvent_ownerId_id_idx" ON "WorldEvent"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldTime_ownerId_id_idx" ON "WorldTime"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldCollection_ownerId_id_idx" ON "WorldCollection"("ownerId", "id");

-- CreateIndex
CREATE INDEX "WorldRelation_ownerId_id_idx" ON "WorldRelation"("ownerId", "id");

-- CreateIndex
CREATE INDEX "Video_ownerId_id_idx" ON "Video"("ownerId", "id");

-- CreateIndex
CREATE INDEX "VideoSummary_ownerId_id_idx" ON "VideoSummary"("ownerId", "id");

-- CreateIndex
CREATE INDEX "VideoSummary_personaId_idx" ON "VideoSummary"("personaId");

-- CreateIndex
CREATE UNIQUE INDEX "VideoSummary_videoId_personaId_key" ON "VideoSummary"("videoId", "personaId");

-- CreateIndex
CREATE INDEX "Claim_ownerId_id_idx" ON "Claim"("ownerId", "id");

-- CreateIndex
CREATE INDEX "Claim_summaryId_idx" ON "Claim"("summaryId");

-- CreateIndex
CREATE INDEX "Claim_parentClaimId_idx" ON "Claim"("parentClaimId");

-- CreateIndex
CREATE INDEX "ClaimRelation_ownerId_id_idx" ON "ClaimRelation"("ownerId", "id");

-- CreateIndex
CREATE INDEX "ClaimRelation_sourceClaimId_idx" ON "ClaimRelation"("sourceClaimId");

-- CreateIndex
CREATE INDEX "ClaimRelation_targetClaimId_idx" ON "ClaimRelation"("targetClaimId");

-- CreateIndex
CREATE INDEX "Annotation_ownerId_id_idx" ON "Annotation"("ownerId", "id");

-- CreateIndex
CREATE INDEX "Annotation_videoId_idx" ON "Annotation"("videoId");

-- CreateIndex
CREATE INDEX "Annotation_personaId_idx" ON "Annotation"("personaId");

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExportJob" ADD CONSTRAINT "ExportJob_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExportJob" ADD CONSTRAINT "ExportJob_requestedById_fkey" FOREIGN KEY ("requestedById") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedUpload" ADD CONSTRAINT "StagedUpload_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportRecord" ADD CONSTRAINT "ImportRecord_requestedById_fkey" FOREIGN KEY ("requestedById") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportRecord" ADD CONSTRAINT "ImportRecord_targetUserId_fkey" FOREIGN KEY ("targetUserId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "App" ADD CONSTRAINT "App_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Category" ADD CONSTRAINT "Category_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Memory" ADD CONSTRAINT "Memory_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Memory" ADD CONSTRAINT "Memory_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryCategory" ADD CONSTRAINT "MemoryCategory_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryCategory" ADD CONSTRAINT "MemoryCategory_memoryId_fkey" FOREIGN KEY ("memoryId") REFERENCES "Memory"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryCategory" ADD CONSTRAINT "MemoryCategory_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryStatus" ADD CONSTRAINT "MemoryStatus_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MemoryStatus" ADD CONSTRAINT "MemoryStatus_memoryId_fkey" FOREIGN KEY ("memoryId") REFERENCES "Memory"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AccessControl" ADD CONSTRAINT "AccessControl_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Persona" ADD CONSTRAINT "Persona_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Ontology" ADD CONSTRAINT "Ontology_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Ontology" ADD CONSTRAINT "Ontology_personaId_fkey" FOREIGN KEY ("personaId") REFERENCES "Persona"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldEntity" ADD CONSTRAINT "WorldEntity_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldLocation" ADD CONSTRAINT "WorldLocation_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldEvent" ADD CONSTRAINT "WorldEvent_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldTime" ADD CONSTRAINT "WorldTime_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldCollection" ADD CONSTRAINT "WorldCollection_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WorldRelation" ADD CONSTRAINT "WorldRelation_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Video" ADD CONSTRAINT "Video_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VideoSummary" ADD CONSTRAINT "VideoSummary_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VideoSummary" ADD CONSTRAINT "VideoSummary_videoId_fkey" FOREIGN KEY ("videoId") REFERENCES "Video"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VideoSummary" ADD CONSTRAINT "VideoSummary_personaId_fkey" FOREIGN KEY ("personaId") REFERENCES "Persona"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Claim" ADD CONSTRAINT "Claim_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Claim" ADD CONSTRAINT "Claim_summaryId_fkey" FOREIGN KEY ("summaryId") REFERENCES "VideoSummary"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Claim" ADD CONSTRAINT "Claim_parentClaimId_fkey" FOREIGN KEY ("parentClaimId") REFERENCES "Claim"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClaimRelation" ADD CONSTRAINT "ClaimRelation_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClaimRelation" ADD CONSTRAINT "ClaimRelation_sourceClaimId_fkey" FOREIGN KEY ("sourceClaimId") REFERENCES "Claim"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClaimRelation" ADD CONSTRAINT "ClaimRelation_targetClaimId_fkey" FOREIGN KEY ("targetClaimId") REFERENCES "Claim"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_videoId_fkey" FOREIGN KEY ("videoId") REFERENCES "Video"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_personaId_fkey" FOREIGN KEY ("personaId") REFERENCES "Persona"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_linkedEntityId_fkey" FOREIGN KEY ("linkedEntityId") REFERENCES "WorldEntity"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_linkedEventId_fkey" FOREIGN KEY ("linkedEventId") REFERENCES "WorldEvent"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_linkedTimeId_fkey" FOREIGN KEY ("linkedTimeId") REFERENCES "WorldTime"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Annotation" ADD CONSTRAINT "Annotation_linkedLocationId_fkey" FOREIGN KEY ("linkedLocationId") REFERENCES "WorldLocation"("id") ON DELETE SET NULL ON UPDATE CASCADE;
