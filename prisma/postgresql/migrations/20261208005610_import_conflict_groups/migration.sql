-- AlterTable
ALTER TABLE "ImportRecord" ADD COLUMN     "conflictGroups" JSONB;
