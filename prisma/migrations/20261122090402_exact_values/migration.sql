-- AlterTable
ALTER TABLE "App" ADD COLUMN "exact" JSONB;

-- AlterTable
ALTER TABLE "Category" ADD COLUMN "exact" JSONB;

-- AlterTable
ALTER TABLE "Memory" ADD COLUMN "exact" JSONB;

-- AlterTable
ALTER TABLE "MemoryStatus" ADD COLUMN "exact" JSONB;

-- AlterTable
ALTER TABLE "AccessControl" ADD COLUMN "exact" JSONB;
